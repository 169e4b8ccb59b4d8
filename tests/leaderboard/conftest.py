def pytest_configure(config):
    config.addinivalue_line("markers", "browser: needs a headless Chromium (skipped with a message if none is installed)")
