"""Every figure function of smkit."""
