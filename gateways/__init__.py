"""Payment gateways behind one neutral interface (``gateways.base``). Pure Python: no Django import here.

Each provider is a package of its own under ``gateways/`` that translates its protocol into the neutral
values; the console picks one per merchant (``payments.gateways.gateway_for``).
"""
