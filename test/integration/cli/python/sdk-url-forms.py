# Run inside the app container (`prodlike exec app -- python -c ...`): the unmodified cloudinary SDK,
# configured only by the env prodlike gives the app, uploads an image, a raw file and a video, builds
# every URL form it can (http and https), and GETs each one from here. Prints one JSON object.
import hashlib, io, json, os, re
import certifi, cloudinary, cloudinary.uploader, cloudinary.utils, urllib3
from PIL import Image

buf = io.BytesIO()
Image.new("RGB", (40, 30), (10, 120, 200)).save(buf, "PNG")
png = buf.getvalue()
image = cloudinary.uploader.upload(png, public_id="sdk/photo")
raw = cloudinary.uploader.upload(b"plain text, kept as is", resource_type="raw", public_id="sdk/notes.txt")
mp4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64
video = cloudinary.uploader.upload(mp4, resource_type="video", public_id="sdk/clip")
pid, vid, fill = image["public_id"], video["public_id"], {"width": 20, "height": 20, "crop": "fill"}
url = cloudinary.utils.cloudinary_url
urls = {
    "build_url": cloudinary.CloudinaryImage(pid).build_url(),
    "build_url_fill": cloudinary.CloudinaryImage(pid).build_url(**fill),
    "build_url_secure": cloudinary.CloudinaryImage(pid).build_url(secure=True),
    "build_url_png": cloudinary.CloudinaryImage(pid).build_url(format="png"),
    "cloudinary_url": url(pid)[0],
    "cloudinary_url_fill": url(pid, format="png", **fill)[0],
    "cloudinary_url_secure_fill": url(pid, secure=True, format="jpg", **fill)[0],
    "cloudinary_url_versioned": url(pid, version=image["version"], format="png")[0],
    "cloudinary_url_signed": url(pid, sign_url=True, format="png", **fill)[0],
    "raw": url(raw["public_id"], resource_type="raw")[0],
    "raw_secure": url(raw["public_id"], resource_type="raw", secure=True)[0],
    "video": cloudinary.CloudinaryVideo(vid).build_url(format="mp4"),
    "video_secure": url(vid, resource_type="video", format="mp4", secure=True)[0],
    "shortened": url(pid, shorten=True)[0],
    "url_suffix": url(pid, url_suffix="blue-photo", format="png")[0],
    "private_cdn": url(pid, private_cdn=True)[0],
    "private_cdn_secure_fill": url(pid, private_cdn=True, secure=True, **fill)[0],
    "cdn_subdomain_secure": url(pid, cdn_subdomain=True, secure=True)[0],
    "cdn_subdomain": url(pid, cdn_subdomain=True)[0],
    "upload_url": image["url"],
    "upload_secure_url": image["secure_url"],
    # A remote image, fetched by the stand-in: its own URLs stand in for another site here.
    "fetch": url(image["url"], type="fetch")[0],
    "fetch_secure_fill": url(image["secure_url"], type="fetch", secure=True, **fill)[0],
}
tags = {
    "image_tag": cloudinary.CloudinaryImage(pid).image(**fill),
    "image_tag_secure": cloudinary.CloudinaryImage(pid).image(secure=True),
    "video_tag": cloudinary.CloudinaryVideo(vid).video(),
}

# django-cloudinary-storage, as the app's models use it.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django
django.setup()
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
stored = default_storage.save("sdk/stored.png", ContentFile(png))
urls["storage_url"] = default_storage.url(stored)

# The SDK's own HTTP client settings: certifi's bundle, to which the app container adds prodlike's CA.
http = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=certifi.where())
loads = {}
for name, target in urls.items():
    response = http.request("GET", target, redirect=False)
    loads[name] = {"status": response.status, "type": response.headers.get("content-type"), "sha256": hashlib.sha256(response.data).hexdigest(), "bytes": len(response.data)}
tag_urls = {name: re.findall(r'(?:src|poster)="([^"]+)"', tag) for name, tag in tags.items()}
print(json.dumps({
    "png_sha256": hashlib.sha256(png).hexdigest(),
    "raw_sha256": hashlib.sha256(b"plain text, kept as is").hexdigest(),
    "mp4_sha256": hashlib.sha256(mp4).hexdigest(),
    "urls": urls, "loads": loads, "tag_urls": tag_urls,
}))
