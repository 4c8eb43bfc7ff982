"""Production settings (`invoke publish`): pelicanconf.py plus what only the live site needs."""

import os
import sys

sys.path.append(os.curdir)
from pelicanconf import *  # noqa: F403

# If your site is available via HTTPS, make sure SITEURL begins with https://
SITEURL = "https://notebook.adaquill.example"
RELATIVE_URLS = False

FEED_ALL_ATOM = "feeds/all.atom.xml"
CATEGORY_FEED_ATOM = "feeds/{slug}.atom.xml"

DELETE_OUTPUT_DIRECTORY = True

# The verdict box is for the author's eyes only.
ENGAGE_SHOW_GATE = False

# A command run after the build and before anything is posted, e.g.
# ENGAGE_DEPLOY = "rsync -avz --delete output/ me@host:/var/www/blog/"
# ENGAGE_DEPLOY = "ghp-import -p -b gh-pages output"
ENGAGE_DEPLOY = None

# Set to True to make `invoke publish` fail when a candidate post fails the gate.
ENGAGE_STRICT = False
