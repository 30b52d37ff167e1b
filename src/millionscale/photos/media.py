"""Uploaded photos: validated by decoding, stored by content, served forever-cacheable.

A file is accepted only if Pillow decodes it completely as JPEG or PNG within
the pixel limit; its name is the SHA-256 of its bytes, so its URL changes
exactly when its content does (a fingerprinted URL) and may be cached by
browsers and CDN edges for a year. A thumbnail (longest side 320 px, JPEG) is
made beside it: in the upload (:meth:`MediaStore.store`), or later from the
stored original by a worker (:meth:`MediaStore.store_original` now,
:meth:`MediaStore.store_thumbnail` then; :mod:`millionscale.photos.jobs`).

What is stored is not the uploaded file but the image re-encoded without its
metadata (:func:`without_metadata`): no EXIF (GPS position, camera serial,
time taken), no XMP, no comments. An EXIF orientation is applied to the
pixels first, so the photo stays upright once the tag is gone. The colour
profile (ICC) is kept: it holds no one's data and the colours depend on it.
A JPEG already upright is re-encoded with its own quantisation tables
(Pillow's ``quality="keep"``), the least loss a re-encode can have; a rotated
one at quality 95.

Files are written to a temporary name and renamed into place, so a reader
never sees half a file; the caller inserts the database row only after both
files exist, and removes what it wrote if the insert fails (see
:mod:`millionscale.photos.api`): a failed upload leaves no row and no file.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

__all__ = [
    "MAX_PIXELS",
    "THUMBNAIL_SIZE",
    "InvalidImage",
    "MediaStore",
    "StoredPhoto",
    "decode",
    "thumbnail",
    "without_metadata",
]

ROTATED_QUALITY = 95  # a rotated JPEG is re-encoded: near-lossless (Pillow's scale tops at 95)
MAX_PIXELS = 40_000_000  # 40 MP: above any phone camera, far below a decompression bomb
THUMBNAIL_SIZE = (320, 320)  # Instagram's grid shows about 300 px wide
THUMBNAIL_QUALITY = 80
THUMBNAIL_SUFFIX = ".thumb.jpg"
FORMATS = {"JPEG": ".jpg", "PNG": ".png"}


class InvalidImage(ValueError):
    """The bytes are not a complete JPEG or PNG image within the limits."""


@dataclass(frozen=True, slots=True)
class Decoded:
    image: Image.Image
    format: str


@dataclass(frozen=True, slots=True)
class StoredPhoto:
    media_path: str  # relative to the media root, e.g. "ab/ab12...ef.jpg"
    thumbnail_path: str | None  # None: not made yet (a worker makes it)
    width: int
    height: int
    written: tuple[Path, ...]  # files this upload created (not ones it found already there)


def decode(data: bytes) -> Decoded:
    """Decode ``data`` fully; raise :class:`InvalidImage` saying why it is refused."""
    try:
        probe = Image.open(io.BytesIO(data))
        if probe.format not in FORMATS:
            raise InvalidImage(
                f"{probe.format or 'unknown'} images are not accepted; use JPEG or PNG"
            )
        width, height = probe.size
        if width * height > MAX_PIXELS:
            raise InvalidImage(
                f"{width}x{height} is more than {MAX_PIXELS // 1_000_000} megapixels"
            )
        probe.verify()  # checksums, structure
        image = Image.open(io.BytesIO(data))
        image.load()  # every pixel: a truncated file fails here
    except InvalidImage:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise InvalidImage("not a decodable JPEG or PNG image") from None
    return Decoded(image, probe.format)


def without_metadata(decoded: Decoded) -> tuple[bytes, Image.Image]:
    """The image upright and re-encoded with no EXIF, XMP or comment; and the upright image.

    Pillow writes EXIF and XMP only when asked (``exif=``, ``xmp=``) and the
    JPEG comment unless given an empty one: nothing of the upload's metadata
    but the ICC profile is passed on.
    """
    image = decoded.image
    orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    upright = (ImageOps.exif_transpose(image) or image) if orientation != 1 else image
    icc_profile = image.info.get("icc_profile")
    buffer = io.BytesIO()
    if decoded.format == "JPEG":
        if upright is image:  # the decoded JPEG itself: its own tables can be kept
            upright.save(
                buffer,
                "JPEG",
                quality="keep",
                subsampling="keep",
                icc_profile=icc_profile,
                comment=b"",
            )
        else:
            upright.save(
                buffer, "JPEG", quality=ROTATED_QUALITY, icc_profile=icc_profile, comment=b""
            )
    else:
        upright.save(buffer, "PNG", icc_profile=icc_profile)
    return buffer.getvalue(), upright


def thumbnail(image: Image.Image) -> bytes:
    """The JPEG thumbnail of ``image`` (upright already): longest side 320 px, no metadata."""
    thumb = image.convert("RGB")
    thumb.thumbnail(THUMBNAIL_SIZE)
    buffer = io.BytesIO()
    thumb.save(buffer, "JPEG", quality=THUMBNAIL_QUALITY, optimize=True)
    return buffer.getvalue()


class MediaStore:
    """Photos and thumbnails under one directory, named by content."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def path(self, relative: str) -> Path:
        return self.root / relative

    def _write(self, data: bytes, suffix: str) -> tuple[str, Path | None]:
        digest = hashlib.sha256(data).hexdigest()[:32]
        relative = f"{digest[:2]}/{digest}{suffix}"
        target = self.root / relative
        if target.exists():
            return relative, None  # same content already stored: share it
        target.parent.mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return relative, target

    def store(self, data: bytes) -> StoredPhoto:
        """Validate ``data`` and write it and its thumbnail; raise InvalidImage if refused."""
        return self._store(data, with_thumbnail=True)

    def store_original(self, data: bytes) -> StoredPhoto:
        """Validate ``data`` and write it alone (``thumbnail_path`` None): the thumbnail
        is made later from the stored file, by :meth:`store_thumbnail`."""
        return self._store(data, with_thumbnail=False)

    def _store(self, data: bytes, *, with_thumbnail: bool) -> StoredPhoto:
        decoded = decode(data)
        clean, image = without_metadata(decoded)
        small = thumbnail(image) if with_thumbnail else None
        written: list[Path] = []
        try:
            media_path, created = self._write(clean, FORMATS[decoded.format])
            written += [created] if created else []
            thumbnail_path = None
            if small is not None:
                thumbnail_path, created = self._write(small, THUMBNAIL_SUFFIX)
                written += [created] if created else []
        except BaseException:
            self.remove(written)
            raise
        return StoredPhoto(media_path, thumbnail_path, image.width, image.height, tuple(written))

    def store_thumbnail(self, media_path: str) -> tuple[str, Path | None]:
        """Make and write the thumbnail of the stored photo ``media_path``: its relative
        path, and the file if this call created it (None if that content was there).

        The stored file is already upright and clean, so its thumbnail is made
        from it as it is. FileNotFoundError if the photo's file is gone (the
        photo was deleted); InvalidImage if it is not an image any more.
        """
        data = (self.root / media_path).read_bytes()
        return self._write(thumbnail(decode(data).image), THUMBNAIL_SUFFIX)

    def remove(self, paths: list[Path] | tuple[Path, ...]) -> None:
        for path in paths:
            path.unlink(missing_ok=True)

    def remove_relative(self, relatives: tuple[str, ...]) -> None:
        self.remove([self.root / relative for relative in relatives])
