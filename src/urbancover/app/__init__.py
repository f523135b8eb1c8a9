"""The application: command line, batch runs, output folders."""
