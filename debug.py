"""Run the integration under a debugger (``python debug.py``), as Ocean's integrations do."""

from port_ocean import run

if __name__ == "__main__":
    run()
