"""秦皇岛 social-assistance hotline assistant: engine, store, web app, NLU components and command line."""
