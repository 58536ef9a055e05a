"""EMULATIONS of the registry providers' own documented HTTP APIs, on a `FakeRegistry` (tests.support.fake_registry).

Each `serve_*` installs the documented endpoints of one provider (token exchange and tag listing with times) with
the documented field names, checks the credentials the way the provider does, and records every request. The
OCI Distribution part of each provider is the real `docker-registry` (see `registry_users`).

    Docker Hub   POST /v2/auth/token, GET /v2/namespaces/{ns}/repositories/{repo}/tags (page_size, next)
    Azure AD     GET /{tenant}/v2.0/.well-known/openid-configuration, POST /{tenant}/oauth2/v2.0/token (HTTPS)
    ACR          POST /oauth2/exchange, POST /oauth2/token, GET /acr/v1/{repo}/_tags (challenge, Link; HTTPS)
    Google       POST /token (JWT bearer grant, signature checked), GET /v1/projects/…/dockerImages (pageToken)
    Harbor       GET /api/v2.0/projects/{p}/repositories/{double-encoded}/artifacts (Basic, Link)
    SWR          GET /v2/manage/namespaces/{ns}/repos/{repo}/tags (SDK-HMAC-SHA256 signature checked)
    DigitalOcean GET /v2/registry/{registry}/repositories/{repo}/tags (Bearer, links.pages.next)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, quote, urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.support.fake_registry import FakeRegistry, FakeResponse, RecordedRequest
from tests.support.registry import RunningRegistry

UNAUTHORIZED = FakeResponse(401, {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]})


def fake_jwt(lifetime: float, **claims: object) -> str:
    """An unsigned JWT-shaped token whose `exp` is `lifetime` seconds away (providers read `exp` to renew)."""

    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    payload = {"exp": int(time.time() + lifetime), "jti": secrets.token_hex(8), **claims}
    return f"{part({'alg': 'none'})}.{part(payload)}.sig"


def authorization(request: RecordedRequest) -> str:
    """The Authorization header, whatever its case (google-auth sends `authorization`)."""
    return next((value for name, value in request.headers.items() if name.lower() == "authorization"), "")


def bearer(request: RecordedRequest) -> str:
    value = authorization(request)
    return value.removeprefix("Bearer ") if value.startswith("Bearer ") else ""


def basic(request: RecordedRequest) -> tuple[str, str] | None:
    value = authorization(request)
    if not value.startswith("Basic "):
        return None
    user, _, password = base64.b64decode(value[6:]).decode().partition(":")
    return user, password


def form(request: RecordedRequest) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(request.body.decode()).items()}


@contextmanager
def registry_users(running: RunningRegistry, users: dict[str, str]) -> Iterator[None]:
    """Let the real token-auth registry accept `users` (what a provider's registry accepts) for a while."""
    server = running.token_server
    assert server is not None, "needs the token_registry fixture"
    before = dict(server.users)
    server.users.update(users)
    try:
        yield
    finally:
        server.users.clear()
        server.users.update(before)


# --- Docker Hub -------------------------------------------------------------------------------------


def serve_hub(fake: FakeRegistry, repository: str, tags: list[dict], *, login: tuple[str, str] | None = None) -> None:
    """Hub API tags of `repository` (`ns/name`), 2 per page; private (needs a Hub login) when `login` is given."""
    namespace, _, name = repository.partition("/")
    issued: set[str] = set()

    def auth(request: RecordedRequest) -> FakeResponse:
        body = json.loads(request.body or b"{}")
        if login is None or (body.get("identifier"), body.get("secret")) != login:
            return FakeResponse(401, {"detail": "Incorrect authentication credentials"})
        token = fake_jwt(600)
        issued.add(token)
        return FakeResponse(200, {"access_token": token})

    def tag_page(request: RecordedRequest) -> FakeResponse:
        if login is not None and bearer(request) not in issued:
            return FakeResponse(404, {"message": "object not found"})  # Hub hides private repositories
        page = int(request.query.get("page", "1"))
        results = tags[(page - 1) * 2 : page * 2]
        more = page * 2 < len(tags)
        path = f"/v2/namespaces/{namespace}/repositories/{name}/tags"
        next_url = f"{fake.url}{path}?page={page + 1}&page_size=2" if more else None
        return FakeResponse(200, {"count": len(tags), "next": next_url, "previous": None, "results": results})

    fake.handler("POST", "/v2/auth/token", auth)
    fake.handler("GET", f"/v2/namespaces/{namespace}/repositories/{name}/tags", tag_page)


# --- Azure AD and ACR -------------------------------------------------------------------------------

ACR_AUDIENCE = "https://containerregistry.azure.net"


def serve_aad_discovery(fake: FakeRegistry, tenant: str) -> None:
    """Azure AD's OIDC discovery document for `tenant` (MSAL reads `token_endpoint` from it before any token)."""
    base = f"{fake.url}/{tenant}"
    document = {
        "issuer": f"{base}/v2.0",
        "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
        "token_endpoint": f"{base}/oauth2/v2.0/token",
        "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
    }
    fake.route("GET", f"/{tenant}/v2.0/.well-known/openid-configuration", FakeResponse(200, document))


class AcrEmulator:
    """Azure AD and ACR as the azure-identity and azure-containerregistry SDKs call them, over TLS.

    Azure AD  GET  /{tenant}/v2.0/.well-known/openid-configuration   (OIDC discovery)
              POST /{tenant}/oauth2/v2.0/token    client_credentials, scope `<audience>/.default`
    ACR       POST /oauth2/exchange   grant_type=access_token, service, access_token (an AAD token for an accepted
                                      audience) -> {"refresh_token"}; the real registry then takes it as the null GUID
              POST /oauth2/token      grant_type=refresh_token, service, scope, refresh_token -> {"access_token"};
                                      grant_type=password (anonymous) is refused: anonymous pull is off
              GET  /acr/v1/{repo}/_tags   Bearer (scope repository:{repo}:metadata_read) or the admin user's Basic;
                                      unauthenticated -> 401 with a Bearer challenge; `n`, `last`, `orderby`,
                                      `Link` rel="next"; 403 DENIED for a principal without read on the repository
    """

    NULL_GUID = "00000000-0000-0000-0000-000000000000"

    def __init__(
        self,
        fake: FakeRegistry,
        running: RunningRegistry,
        *,
        tenant: str,
        client: tuple[str, str],
        registry: str,
        admin: tuple[str, str] | None = None,
    ) -> None:
        assert fake.tls is not None, "the Azure SDKs send tokens over HTTPS only: use tls_fake_registry"
        self.fake, self.running, self.tenant, self.client = fake, running, tenant, client
        self.registry, self.admin = registry, admin
        self.audiences = {ACR_AUDIENCE}  # what the registry accepts at the exchange (ARM too where enabled)
        self.denied: set[str] = set()  # repositories the service principal may not read
        self.page_limit = 2  # ACR caps `n`; small here so that paging is exercised
        self.aad_tokens: set[str] = set()
        self.refresh_tokens: set[str] = set()
        self.access_tokens: dict[str, str] = {}  # token -> the repository it may read
        self.refresh_lifetime = 3 * 3600.0
        serve_aad_discovery(fake, tenant)
        fake.handler("POST", f"/{tenant}/oauth2/v2.0/token", self._aad)
        fake.handler("POST", "/oauth2/exchange", self._exchange)
        fake.handler("POST", "/oauth2/token", self._token)

    def serve_tags(self, repository: str, tags: list[dict] | None) -> None:
        """ACR's tag list of `repository` (None: no such repository, 404 NAME_UNKNOWN once authenticated)."""

        def answer(request: RecordedRequest) -> FakeResponse:
            token = bearer(request)
            admin = self.admin is not None and basic(request) == self.admin
            if not admin and token not in self.access_tokens:
                return self._challenge(repository)
            if token and self.access_tokens[token] != repository:
                return FakeResponse(403, {"errors": [{"code": "DENIED", "message": "requested access is denied"}]})
            if tags is None:
                return FakeResponse(404, {"errors": [{"code": "NAME_UNKNOWN", "message": "repository not found"}]})
            ordered = tags
            if request.query.get("orderby") in ("timedesc", "timeasc"):
                desc = request.query["orderby"] == "timedesc"
                ordered = sorted(tags, key=lambda tag: tag["lastUpdateTime"], reverse=desc)
            last, size = request.query.get("last"), min(int(request.query.get("n", "100")), self.page_limit)
            start = next((i + 1 for i, tag in enumerate(ordered) if tag["name"] == last), 0)
            page = [
                {**tag, "changeableAttributes": CHANGEABLE}
                for tag in ordered[start : start + size]  # as ACR answers them
            ]
            headers = {}
            if start + size < len(ordered):
                query = f"last={page[-1]['name']}&n={size}&orderby={request.query.get('orderby', '')}"
                headers["Link"] = f'</acr/v1/{repository}/_tags?{query}>; rel="next"'
            body = {"registry": self.registry, "imageName": repository, "tags": page}
            return FakeResponse(200, body, headers)

        # The SDK sends the name percent-encoded (`team%2Fapp`), a `Link` carries it as is: ACR decodes both.
        self.fake.handler("GET", f"/acr/v1/{repository}/_tags", answer)
        self.fake.handler("GET", f"/acr/v1/{quote(repository, safe='')}/_tags", answer)

    def _challenge(self, repository: str) -> FakeResponse:
        challenge = (
            f'Bearer realm="{self.fake.url}/oauth2/token",service="{self.registry}",'
            f'scope="repository:{repository}:metadata_read"'
        )
        body = {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}
        return FakeResponse(401, body, {"WWW-Authenticate": challenge})

    def _aad(self, request: RecordedRequest) -> FakeResponse:
        data = form(request)
        if data.get("grant_type") != "client_credentials" or not data.get("scope", "").endswith("/.default"):
            return FakeResponse(400, {"error": "invalid_request"})
        if (data.get("client_id"), data.get("client_secret")) != self.client:
            return FakeResponse(401, {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid secret"})
        token = fake_jwt(3600, aud=data["scope"].removesuffix("/.default"), tid=self.tenant)
        self.aad_tokens.add(token)
        return FakeResponse(200, {"token_type": "Bearer", "expires_in": 3600, "access_token": token})

    def _exchange(self, request: RecordedRequest) -> FakeResponse:
        data = form(request)
        token = data.get("access_token", "")
        if data.get("grant_type") != "access_token" or token not in self.aad_tokens:
            return UNAUTHORIZED
        if claims(token).get("aud") not in self.audiences:
            return FakeResponse(401, {"errors": [{"code": "UNAUTHORIZED", "message": "audience not accepted"}]})
        if data.get("service") != self.registry or data.get("tenant", self.tenant) != self.tenant:
            return FakeResponse(400, {"errors": [{"code": "BAD_REQUEST", "message": "wrong service or tenant"}]})
        refresh = fake_jwt(self.refresh_lifetime, aud=self.registry, grant_type="refresh_token")
        self.refresh_tokens.add(refresh)
        assert self.running.token_server is not None
        self.running.token_server.users[self.NULL_GUID] = refresh  # what the registry now accepts
        return FakeResponse(200, {"refresh_token": refresh})

    def _token(self, request: RecordedRequest) -> FakeResponse:
        data = form(request)
        if data.get("grant_type") != "refresh_token" or data.get("refresh_token") not in self.refresh_tokens:
            return UNAUTHORIZED
        repository = data.get("scope", "").removeprefix("repository:").rpartition(":")[0]
        token = fake_jwt(300, access=[] if repository in self.denied else [{"type": "repository", "name": repository}])
        self.access_tokens[token] = "" if repository in self.denied else repository
        return FakeResponse(200, {"access_token": token})


CHANGEABLE = {"deleteEnabled": True, "writeEnabled": True, "readEnabled": True, "listEnabled": True}


def claims(token: str) -> dict:
    """The unverified claims of a JWT-shaped token."""
    payload = token.split(".")[1] if token.count(".") == 2 else ""
    try:
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return {}


# --- Google -----------------------------------------------------------------------------------------


class GoogleEmulator:
    """Google's OAuth token endpoint and Artifact Registry's REST API, as google-auth and the AR SDK call them.

    OAuth   POST /token   grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer, assertion = an RS256 JWT signed
                          with the service-account key (signature, `aud` and the scope checked)
    AR      GET  /v1/projects/{p}/locations/{l}/repositories/{r}/dockerImages   Bearer: an access token from
                          /token, or a self-signed JWT (AIP-4111: RS256 by the key, iss = sub = the account, a
                          `scope` claim, unexpired), which is what the SDK sends with a key; `pageSize` (capped, so
                          paging is exercised), `pageToken` -> `nextPageToken`; errors as Google's JSON
                          (401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 404 NOT_FOUND)
    """

    def __init__(self, fake: FakeRegistry, running: RunningRegistry | None = None) -> None:
        self.fake, self.running = fake, running
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.tokens: dict[str, str] = {}  # access token -> the service account it was minted for
        self.accounts: set[str] = set()  # service accounts whose key is self.key
        self.self_signed: list[dict] = []  # claims of the self-signed JWTs accepted
        self.denied: set[str] = set()  # service accounts without artifactregistry.dockerimages.list
        self.lifetime = 3600
        self.page_limit = 1
        fake.handler("POST", "/token", self._token)

    def service_account_json(self, email: str = "updater@demo-project.iam.gserviceaccount.com") -> str:
        pem = self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        self.accounts.add(email)
        return json.dumps(
            {
                "type": "service_account",
                "project_id": "demo-project",
                "private_key_id": secrets.token_hex(20),
                "private_key": pem,
                "client_email": email,
                "client_id": "1234567890",
                "token_uri": f"{self.fake.url}/token",
            }
        )

    def revoke(self, token: str) -> None:
        self.tokens.pop(token, None)

    def serve_images(self, parent: str, images: list[dict] | None) -> None:
        """`parent` = projects/P/locations/L/repositories/R (None: no such repository)."""

        def answer(request: RecordedRequest) -> FakeResponse:
            account = self.tokens.get(bearer(request)) or self._self_signed_account(bearer(request))
            if account is None:
                return google_error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
            if account in self.denied:
                return google_error(403, "PERMISSION_DENIED", f"Permission denied on resource {parent}.")
            if images is None:
                return google_error(404, "NOT_FOUND", f"Requested entity was not found: {parent}.")
            index = int(request.query.get("pageToken", "0"))
            size = min(int(request.query.get("pageSize", "100")), self.page_limit)
            body: dict = {"dockerImages": images[index : index + size]}
            if index + size < len(images):
                body["nextPageToken"] = str(index + size)
            return FakeResponse(200, body)

        self.fake.handler("GET", f"/v1/{parent}/dockerImages", answer)

    def _signed_claims(self, jwt: str) -> dict | None:
        """The claims of a JWT signed RS256 by the service-account key, or None."""
        try:
            header, payload, signature = jwt.split(".")
            self.key.public_key().verify(
                base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)),
                f"{header}.{payload}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
            return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except Exception:
            return None

    def _self_signed_account(self, jwt: str) -> str | None:
        claims = self._signed_claims(jwt) if jwt.count(".") == 2 else None
        if claims is None or claims.get("iss") not in self.accounts or claims.get("sub") != claims.get("iss"):
            return None
        if "cloud-platform" not in claims.get("scope", "") or claims.get("exp", 0) <= time.time():
            return None
        self.self_signed.append(claims)
        return claims["iss"]

    def _token(self, request: RecordedRequest) -> FakeResponse:
        data = form(request)
        if data.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return FakeResponse(400, {"error": "unsupported_grant_type"})
        claims = self._signed_claims(data.get("assertion", ""))
        if claims is None:
            return FakeResponse(400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
        if claims.get("aud") != "https://oauth2.googleapis.com/token":  # documented: always this, wherever posted
            return FakeResponse(400, {"error": "invalid_grant", "error_description": "Invalid JWT: aud"})
        if "cloud-platform" not in claims.get("scope", ""):
            return FakeResponse(400, {"error": "invalid_scope"})
        token = f"ya29.emulated-{secrets.token_hex(12)}"
        self.tokens[token] = claims.get("iss", "")
        if self.running is not None and self.running.token_server is not None:
            self.running.token_server.users["oauth2accesstoken"] = token  # the registry accepts the new token
        return FakeResponse(200, {"access_token": token, "expires_in": self.lifetime, "token_type": "Bearer"})


def google_error(code: int, status: str, message: str) -> FakeResponse:
    return FakeResponse(code, {"error": {"code": code, "message": message, "status": status}})


# --- Harbor, SWR, DigitalOcean ----------------------------------------------------------------------


def serve_harbor(fake: FakeRegistry, repository: str, artifacts: list[dict], *, login: tuple[str, str]) -> None:
    project, _, name = repository.partition("/")
    path = f"/api/v2.0/projects/{project}/repositories/{quote(quote(name, safe=''), safe='')}/artifacts"

    def answer(request: RecordedRequest) -> FakeResponse:
        if basic(request) != login:
            return FakeResponse(401, {"errors": [{"code": "UNAUTHORIZED", "message": "unauthorized"}]})
        page = int(request.query.get("page", "1"))
        body = artifacts[(page - 1) : page]
        headers = {"X-Total-Count": str(len(artifacts))}
        if page < len(artifacts):
            headers["Link"] = f'<{path}?page={page + 1}&page_size=1&with_tag=true>; rel="next"'
        return FakeResponse(200, body, headers)

    # The path arrives double-encoded: the handler is matched on the raw path.
    fake.handler("GET", path, answer)


def serve_swr(fake: FakeRegistry, repository: str, tags: list[dict], *, access_key: str, secret_key: str) -> None:
    namespace, _, repo = repository.partition("/")

    def answer(request: RecordedRequest) -> FakeResponse:
        if not _swr_signature_ok(request, fake.host, access_key, secret_key):
            return FakeResponse(401, {"error_code": "APIGW.0301", "error_msg": "Incorrect IAM authentication"})
        return FakeResponse(200, tags)

    fake.handler("GET", f"/v2/manage/namespaces/{namespace}/repos/{repo.replace('/', '$')}/tags", answer)


def _swr_signature_ok(request: RecordedRequest, host: str, access_key: str, secret_key: str) -> bool:
    """Huawei Cloud's SDK-HMAC-SHA256 check, written from the API signing guide (independent of the client)."""
    header = request.headers.get("Authorization", "")
    fields = dict(part.strip().split("=", 1) for part in header.removeprefix("SDK-HMAC-SHA256 ").split(","))
    if fields.get("Access") != access_key:
        return False
    names = fields.get("SignedHeaders", "").split(";")
    lowered = {key.lower(): value for key, value in request.headers.items()}
    url = urlsplit(request.target)
    query = sorted(parse_qs(url.query, keep_blank_values=True).items())
    canonical_query = "&".join(f"{quote(k, safe='-_.~')}={quote(v[0], safe='-_.~')}" for k, v in query)
    canonical = "\n".join(
        [
            request.method,
            url.path if url.path.endswith("/") else url.path + "/",
            canonical_query,
            "".join(f"{name}:{lowered.get(name, '').strip()}\n" for name in names),
            ";".join(names),
            hashlib.sha256(request.body).hexdigest(),
        ]
    )
    to_sign = "\n".join(
        ["SDK-HMAC-SHA256", lowered.get("x-sdk-date", ""), hashlib.sha256(canonical.encode()).hexdigest()]
    )
    expected = hmac.new(secret_key.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    return (
        "host" in names and lowered.get("host") == host and hmac.compare_digest(expected, fields.get("Signature", ""))
    )


def serve_docr(fake: FakeRegistry, repository: str, tags: list[dict], *, token: str) -> None:
    registry, _, repo = repository.partition("/")

    def answer(request: RecordedRequest) -> FakeResponse:
        if bearer(request) != token:
            return FakeResponse(401, {"id": "unauthorized", "message": "Unable to authenticate you"})
        page, per_page = int(request.query.get("page", "1")), 2
        items = tags[(page - 1) * per_page : page * per_page]
        pages = {"next": f"{fake.url}/?page={page + 1}"} if page * per_page < len(tags) else {}
        return FakeResponse(200, {"tags": items, "links": {"pages": pages}, "meta": {"total": len(tags)}})

    fake.handler("GET", f"/v2/registry/{registry}/repositories/{quote(repo, safe='')}/tags", answer)
