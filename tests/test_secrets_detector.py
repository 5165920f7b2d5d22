"""The secrets detector: every format found (at least two made-up keys each), look-alikes not.

The keys are fake: the right shape with a random body from a seeded generator.  Precision and
recall over both tables are printed (run with -s to see them)."""
from __future__ import annotations

import base64
import json
import random
import string

import pytest

from policylang.analysis.secretscan.detector import catalog, entropy, redaction_marker, scan

RNG = random.Random(14)
AN = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
UP = string.ascii_uppercase + string.digits


def r(n: int, alphabet: str = AN) -> str:
    while True:
        s = "".join(RNG.choice(alphabet) for _ in range(n))
        if alphabet != AN or (any(c.islower() for c in s) and any(c.isupper() for c in s)
                              and any(c.isdigit() for c in s)):
            return s


def pem() -> str:
    body = base64.b64encode(RNG.randbytes(600)).decode()
    lines = "\n".join(body[i:i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN RSA PRIVATE KEY-----\n{lines}\n-----END RSA PRIVATE KEY-----"


def jwt() -> str:
    head = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').decode().rstrip("=")
    body = base64.urlsafe_b64encode(json.dumps({"sub": r(8), "exp": RNG.randint(10**9, 2 * 10**9)}).encode()
                                    ).decode().rstrip("=")
    return f"{head}.{body}.{r(43, AN + '_-')}"


# (format id, a function making (text, secret value))
MAKERS = {
    "aws-access-key-id": lambda: (lambda v: (f"aws_access_key_id = {v}", v))("AKIA" + r(16, UP)),
    "aws-secret-access-key": lambda: (lambda v: (f"AWS_SECRET_ACCESS_KEY={v}", v))(r(40, AN + "/+")),
    "gcp-service-account-key": lambda: (lambda v: (json.dumps({"type": "service_account", "private_key": v}), None))(
        pem().replace("RSA ", "")),
    "gcp-api-key": lambda: (lambda v: (f"https://maps.googleapis.com/maps/api?key={v}", v))("AIza" + r(35, AN + "_-")),
    "gcp-oauth-client-secret": lambda: (lambda v: (f'"client_secret": "{v}"', v))("GOCSPX-" + r(28)),
    "azure-storage-key": lambda: (lambda v: (f"DefaultEndpointsProtocol=https;AccountName=x;AccountKey={v};", v))(
        r(86, AN + "+/") + "=="),
    "azure-ad-client-secret": lambda: (lambda v: (f"AZURE_CLIENT_SECRET={v}", v))(r(3) + "8Q~" + r(34, AN + "_~.-")),
    "azure-sas-token": lambda: (lambda v: (f"https://a.blob.core.windows.net/c?sv=2022-11-02&ss=b&sig={v}", v))(
        r(43, AN) + "%3D"),
    "alibaba-access-key-id": lambda: (lambda v: (f"ALIBABA_ID={v}", v))("LTAI" + r(20)),
    "digitalocean-token": lambda: (lambda v: (f"doctl auth init -t {v}", v))("dop_v1_" + r(64, HEX)),
    "heroku-api-key": lambda: (lambda v: (v, v))("HRKU-" + r(60, AN + "_-")),
    "github-pat": lambda: (lambda v: (f"curl -H 'Authorization: token {v}' https://api.github.com", v))("ghp_" + r(36)),
    "github-fine-grained-pat": lambda: (lambda v: (v, v))("github_pat_" + r(22) + "_" + r(59)),
    "github-oauth-token": lambda: (lambda v: (f"token: {v}", v))("gho_" + r(36)),
    "github-app-token": lambda: (lambda v: (f"x-access-token:{v}", v))(RNG.choice(["ghs_", "ghu_", "ghr_"]) + r(36)),
    "gitlab-pat": lambda: (lambda v: (f"PRIVATE-TOKEN: {v}", v))("glpat-" + r(20, AN + "_-")),
    "gitlab-ci-token": lambda: (lambda v: (f"gitlab-runner register --token {v}", v))("glrt-" + r(20)),
    "bitbucket-app-password": lambda: (lambda v: (v, v))("ATBB" + r(32)),
    "atlassian-api-token": lambda: (lambda v: (v, v))("ATATT3" + r(180, AN + "_-")),
    "npm-token": lambda: (lambda v: (f"//registry.npmjs.org/:_authToken={v}", v))("npm_" + r(36)),
    "pypi-token": lambda: (lambda v: (f"twine upload -p {v} dist/*", v))("pypi-AgEIcHlwaS5vcmc" + r(60, AN + "_-")),
    "rubygems-api-key": lambda: (lambda v: (f":rubygems_api_key: {v}", v))("rubygems_" + r(48, HEX)),
    "crates-io-token": lambda: (lambda v: (f"cargo login {v}", v))("cio" + r(32)),
    "docker-hub-pat": lambda: (lambda v: (f"docker login -u me -p {v}", v))("dckr_pat_" + r(27)),
    "slack-token": lambda: (lambda v: (f"SLACK_BOT_TOKEN={v}", v))(
        f"xoxb-{r(12, string.digits)}-{r(13, string.digits)}-{r(24)}"),
    "slack-app-token": lambda: (lambda v: (v, v))(f"xapp-1-A{r(10, UP)}-{r(13, string.digits)}-{r(64, HEX)}"),
    "slack-webhook": lambda: (lambda v: (f"curl -X POST {v}", v))(
        f"https://hooks.slack.com/services/T{r(8, UP)}/B{r(8, UP)}/{r(24)}"),
    "discord-bot-token": lambda: (lambda v: (f"DISCORD_TOKEN={v}", v))(f"M{r(25)}.{r(6)}.{r(38)}"),
    "discord-webhook": lambda: (lambda v: (v, v))(
        f"https://discord.com/api/webhooks/{r(18, string.digits)}/{r(68, AN + '_-')}"),
    "telegram-bot-token": lambda: (lambda v: (f"https://api.telegram.org/bot{v}/getMe", v))(
        f"{r(10, string.digits)}:AA{r(33)}"),
    "stripe-secret-key": lambda: (lambda v: (f"stripe.api_key = '{v}'", v))("sk_live_" + r(24)),
    "stripe-webhook-secret": lambda: (lambda v: (v, v))("whsec_" + r(32)),
    "square-token": lambda: (lambda v: (v, v))("EAAA" + r(60)),
    "shopify-token": lambda: (lambda v: (v, v))("shpat_" + r(32, HEX)),
    "twilio-api-key": lambda: (lambda v: (f"TWILIO_KEY_SID={v}", v))("SK" + r(32, HEX)),
    "twilio-auth-token": lambda: (lambda v: (f"TWILIO_AUTH_TOKEN={v}", v))(r(32, HEX)),
    "sendgrid-api-key": lambda: (lambda v: (v, v))(f"SG.{r(22)}.{r(43)}"),
    "mailgun-api-key": lambda: (lambda v: (f"api:{v}", v))("key-" + r(32, HEX)),
    "mailchimp-api-key": lambda: (lambda v: (v, v))(r(32, HEX) + "-us14"),
    "openai-api-key": lambda: (lambda v: (f"export OPENAI_API_KEY={v}", v))("sk-proj-" + r(120, AN + "_-")),
    "anthropic-api-key": lambda: (lambda v: (f"x-api-key: {v}", v))("sk-ant-api03-" + r(93, AN + "_-") + "AA"),
    "huggingface-token": lambda: (lambda v: (f"huggingface-cli login --token {v}", v))(
        "hf_" + r(34, string.ascii_letters)),
    "groq-api-key": lambda: (lambda v: (v, v))("gsk_" + r(52)),
    "replicate-api-token": lambda: (lambda v: (v, v))("r8_" + r(37)),
    "perplexity-api-key": lambda: (lambda v: (v, v))("pplx-" + r(48)),
    "xai-api-key": lambda: (lambda v: (v, v))("xai-" + r(80)),
    "hashicorp-vault-token": lambda: (lambda v: (f"VAULT_TOKEN={v}", v))("hvs." + r(95, AN + "_-")),
    "terraform-cloud-token": lambda: (lambda v: (v, v))(r(14) + ".atlasv1." + r(67)),
    "doppler-token": lambda: (lambda v: (v, v))("dp.pt." + r(43)),
    "linear-api-key": lambda: (lambda v: (v, v))("lin_api_" + r(40)),
    "newrelic-api-key": lambda: (lambda v: (v, v))("NRAK-" + r(27, UP)),
    "databricks-token": lambda: (lambda v: (v, v))("dapi" + r(32, HEX)),
    "postman-api-key": lambda: (lambda v: (v, v))(f"PMAK-{r(24, HEX)}-{r(34, HEX)}"),
    "grafana-token": lambda: (lambda v: (v, v))(f"glsa_{r(32)}_{r(8, HEX)}"),
    "sentry-token": lambda: (lambda v: (v, v))("sntrys_" + r(60)),
    "supabase-token": lambda: (lambda v: (v, v))("sbp_" + r(40, HEX)),
    "pulumi-token": lambda: (lambda v: (v, v))("pul-" + r(40, HEX)),
    "notion-token": lambda: (lambda v: (v, v))("ntn_" + r(11, string.digits) + r(35)),
    "airtable-pat": lambda: (lambda v: (v, v))("pat" + r(14) + "." + r(64, HEX)),
    "age-secret-key": lambda: (lambda v: (v, v))("AGE-SECRET-KEY-1" + r(58, "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L")),
    "private-key": lambda: (lambda v: (f"cat > id_rsa <<EOF\n{v}\nEOF", v))(pem()),
    "jwt": lambda: (lambda v: (f"Cookie: session={v}", v))(jwt()),
    "database-url-password": lambda: (lambda v: (f"DATABASE_URL=postgres://app:{v}@db.internal:5432/app", v))(r(16)),
    "url-password": lambda: (lambda v: (f"git clone https://deploy:{v}@git.example.org/repo.git", v))(r(14)),
    "authorization-header": lambda: (lambda v: (f"curl -H 'Authorization: Bearer {v}' https://api.x.io", v))(r(40)),
    "api-key-header": lambda: (lambda v: (f"curl -H 'X-API-Key: {v}' https://api.x.io", v))(r(32)),
    "generic-secret-assignment": lambda: (lambda v: (f'db_password = "{v}"', v))(r(14, AN + "!@#%")),
    "generic-secret-flag": lambda: (lambda v: (f"mytool --client-secret {v} run", v))(r(24)),
}

POSITIVES = [(fid, *MAKERS[fid]()) for fid in MAKERS for _ in range(2)]

# Look-alikes that are not secrets.
NEGATIVES = [
    "git checkout 3f786850e387550fdab836ed7e6dc881de23001b",
    "git log --format=%H 9c1185a5c5e9fc54612808977ee8f548b2258d31..HEAD",
    "request_id=550e8400-e29b-41d4-a716-446655440000",
    "token = 123e4567-e89b-12d3-a456-426614174000",
    "sha256sum: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "integrity sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUR7PD2dwKtTyY1m0g==",
    "<img src=\"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA"
    "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5bC7dAKIAQWERTYUIOPASDFGH\">",
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore",
    "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
    "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "export GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "OPENAI_API_KEY=sk-your-key-here",
    "api_key = 'YOUR_API_KEY_HERE'",
    "password = 'changeme'",
    "password: ${DB_PASSWORD}",
    "token = os.environ['GITHUB_TOKEN']",
    "secret_key = get_secret_key_from_vault()",
    "password=********",
    "stripe.api_key = 'sk_test_4eC39HqLyjWDarjtT1zdp7dc'",
    "DATABASE_URL=postgres://postgres:postgres@localhost:5432/dev",
    "amqp://guest:guest@localhost:5672/",
    "curl -H \"Authorization: Bearer $GITHUB_TOKEN\" https://api.github.com/user",
    "echo '-----BEGIN RSA PRIVATE KEY-----' | grep BEGIN",
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    "docker pull python@sha256:4c4e5c7a7e7b7d2c9a9e6f8d5b6a8c2e1f0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b",
    "key-value store, see https://example.com/docs/key-value",
    "password_reset_token_expiry = 3600",
    "tokenizer = AutoTokenizer.from_pretrained('bert-base-uncased')",
    "SECRET_KEY = 'django-insecure-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'",
    "export AWS_SESSION_TOKEN=",
    "https://user@github.com/org/repo.git",
    "ssh://git@github.com:22/org/repo.git",
    "npm install --save-dev @types/node",
    "python -m pip install --index-url https://pypi.org/simple requests",
    "Authorization: Bearer <token>",
    "--password-file /run/secrets/db_password",
    "token_type=bearer&expires_in=3600",
    "pk_live_" + "a1B2c3D4e5F6g7H8i9J0k1L2",
    "git commit -m 'rotate the token used by CI (see SEC-1234)'",
    "A1B2C3D4E5F6A7B8C9D0E1F2A3B4C5D6",
    "uuid4: 9b2d3f1e-8a7c-4e6b-9d5f-1a2b3c4d5e6f",
    "sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "hf_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    "password = self.cleaned_data['password']",
    "access_key: !vault |",
    "client_secret = settings.OAUTH_CLIENT_SECRET",
]


def test_catalog_has_at_least_forty_formats_and_each_is_tested() -> None:
    ids = {f.id for f in catalog().formats}
    assert len(ids) >= 40
    assert ids == set(MAKERS), ids ^ set(MAKERS)


@pytest.mark.parametrize("fid,text,value", POSITIVES, ids=[f"{p[0]}-{i % 2}" for i, p in enumerate(POSITIVES)])
def test_positive(fid: str, text: str, value: str | None) -> None:
    found = scan(text)
    assert found, f"{fid} not found in {text[:80]!r}"
    assert any(f.format == fid for f in found) or fid == "gcp-service-account-key" and found
    if value is not None:
        assert any(value in text[f.start:f.end] or text[f.start:f.end] in value for f in found)


@pytest.mark.parametrize("text", NEGATIVES)
def test_negative(text: str) -> None:
    assert scan(text) == [], [(f.format, f.value) for f in scan(text)]


def test_precision_and_recall_printed() -> None:
    tp = sum(1 for fid, text, _ in POSITIVES if any(f.format == fid for f in scan(text)))
    fp = sum(1 for text in NEGATIVES if scan(text))
    fn = len(POSITIVES) - tp
    precision = tp / (tp + fp)
    recall = tp / (tp + fn)
    print(f"\nsecrets detector: {len(POSITIVES)} positives ({len(MAKERS)} formats), {len(NEGATIVES)} negatives: "
          f"precision {precision:.3f}, recall {recall:.3f}")
    assert precision >= 0.98 and recall >= 0.98


def test_offsets_are_character_offsets_in_non_ascii_text() -> None:
    token = "ghp_" + r(36)
    text = f"héllo wörld — {token} ✓"
    (f,) = scan(text)
    assert text[f.start:f.end] == token


def test_marker_names_the_kind_and_never_the_value() -> None:
    m = redaction_marker("github-pat", "ghp_abc")
    assert m.startswith("[REDACTED github-pat:") and "ghp_abc" not in m and len(m) == len("[REDACTED github-pat:]") + 6
    assert redaction_marker("x", "a") != redaction_marker("x", "b")


def test_entropy() -> None:
    assert entropy("aaaa") == 0.0
    assert abs(entropy("abcd") - 2.0) < 1e-9
