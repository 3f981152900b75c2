"""The command line: values, environment, bad inputs, safe configuration and paths."""
