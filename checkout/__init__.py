"""The lane's pages, the JSON API that stores' scripts and the checkout page call, and the receipt pages."""
