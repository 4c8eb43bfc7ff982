"""Local settings for the demo blog (`invoke build`, `invoke check`)."""

AUTHOR = "Ada Quill"
SITENAME = "Ada Quill’s notebook"
SITESUBTITLE = "Static sites, the small web, and answering people"
SITEURL = ""

PATH = "content"
TIMEZONE = "Europe/Berlin"
DEFAULT_LANG = "en"
DEFAULT_DATE_FORMAT = "%-d %B %Y"

THEME = "theme"

# The engage plugin, listed explicitly (it is a namespace plugin installed with the package).
PLUGINS = ["engage"]

# Local builds show the gate's verdict on every article, so you see at once why
# a post will not be cross-posted. publishconf.py turns this off.
ENGAGE_SHOW_GATE = True

# Networks to cross-post to; empty means "just show me the plan". See the README
# for each network's options and the environment variables holding its credentials.
ENGAGE_NETWORKS: dict[str, dict[str, object]] = {}

# Feed generation is usually not desired when developing
FEED_ALL_ATOM = None
CATEGORY_FEED_ATOM = None
TRANSLATION_FEED_ATOM = None
AUTHOR_FEED_ATOM = None
AUTHOR_FEED_RSS = None

LINKS = (
    ("IndieWeb", "https://indieweb.org/"),
    ("Pelican", "https://getpelican.com/"),
)
SOCIAL = ()

DEFAULT_PAGINATION = 10
RELATIVE_URLS = True
