"""The application layer: Home (one data directory; every front end works through it), its topics
file, the events it reports and the results it returns."""
