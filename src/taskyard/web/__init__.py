"""Server-rendered pages for people following a link (a pull request's, a comment's)."""
