"""The OCI Distribution registry client, one module per concern.

`errors` (named failures), `transport` (HTTP: scheme choice, retries, redirects), `schemes` (the
process-wide https/http answer per host), `auth` (challenges, tokens, Basic), `manifests` (media types,
digests, platforms) and `client` (`RegistryClient`). Import from `registries.client`, the stable facade.
"""
