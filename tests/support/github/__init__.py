"""A GitHub stand-in for tests (REST held to GitHub's OpenAPI description, GraphQL,
git over smart HTTP) and GitHub's published webhook payloads, signed."""
