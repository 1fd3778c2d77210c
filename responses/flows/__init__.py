"""The flow files (YAML). A package only so that installs ship the *.yml files."""
