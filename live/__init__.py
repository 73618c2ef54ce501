"""The live push and the websockets: pages follow attempts and lanes as they change."""
