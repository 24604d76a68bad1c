"""Files and their facets: storage, upload tickets, processing, downloads, the X-on files API."""
