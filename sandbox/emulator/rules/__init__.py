"""AWS rules added to moto. One module per rule family, each with an ``install()`` function."""
