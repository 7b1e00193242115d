"""Dataset files: the cache directory and checksum-verified downloads."""
import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

TIMEOUT = 5.0       # seconds per connection attempt: an offline machine fails fast


def home():
    """``$TENSORCORE_HOME``, by default ``~/.tensorcore``."""
    return Path(os.environ.get("TENSORCORE_HOME") or Path.home() / ".tensorcore").expanduser()


def cache_dir(name):
    """Where dataset ``name`` lives: ``$TENSORCORE_HOME/datasets/<name>``."""
    return home() / "datasets" / name


def _open_url(url, timeout):
    return urllib.request.urlopen(url, timeout=timeout)     # the one network call (tests patch it)


class DownloadError(RuntimeError):
    """No source gave the file with the right checksum; ``reasons`` says what each did and
    ``offline`` whether the network itself failed (so other sources would fail too)."""

    def __init__(self, filename, reasons, offline):
        self.reasons, self.offline = reasons, offline
        super().__init__(f"could not download {filename}: " + "; ".join(reasons))


def fetch(filename, urls, sha256, directory, timeout=TIMEOUT):
    """Download ``filename`` from the first of ``urls`` that serves it with SHA-256 ``sha256``
    into ``directory``; returns its path. Stops at the first network failure (offline)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    reasons, offline = [], False
    for url in urls:
        print(f"Downloading {url} -> {directory / filename}", file=sys.stderr)
        fd, tmp = tempfile.mkstemp(prefix=f".{filename}.", suffix=".part", dir=directory)
        try:
            with os.fdopen(fd, "wb") as out:
                digest = _copy_hashing(url, out, timeout)
            if digest != sha256:
                reasons.append(f"{url} sent a file with SHA-256 {digest}, expected {sha256}")
                continue
            os.replace(tmp, directory / filename)
            return directory / filename
        except urllib.error.HTTPError as e:
            reasons.append(f"{url}: HTTP {e.code} {e.reason}")
        except (urllib.error.URLError, OSError) as e:    # no network: the others fail too
            reasons.append(f"{url}: {getattr(e, 'reason', e)}")
            offline = True
            break
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    raise DownloadError(filename, reasons, offline)


def _copy_hashing(url, out, timeout):
    digest = hashlib.sha256()
    with _open_url(url, timeout) as response:
        while chunk := response.read(1 << 20):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()
