# Run on the host in a venv with the cloudinary package from PyPI, CLOUDINARY_URL as `prodlike env`
# prints it (nothing else configured): upload a file, build its http and https URLs, GET both.
# The https one is checked with prodlike's CA ($PRODLIKE_CA), as a browser that trusts it would.
import hashlib, json, os, ssl, sys, urllib.request
import cloudinary, cloudinary.uploader, cloudinary.utils

result = cloudinary.uploader.upload(sys.argv[1], public_id="host/upload")
built = {
    "http": cloudinary.CloudinaryImage(result["public_id"]).build_url(),
    "https": cloudinary.utils.cloudinary_url(result["public_id"], secure=True, format=result["format"])[0],
}
context = ssl.create_default_context(cafile=os.environ["PRODLIKE_CA"])
loaded = {}
for scheme, target in built.items():
    with urllib.request.urlopen(target, context=context if scheme == "https" else None) as response:
        loaded[scheme] = {"status": response.status, "sha256": hashlib.sha256(response.read()).hexdigest()}
print(json.dumps({"public_id": result["public_id"], "bytes": result["bytes"], "built": built, "loaded": loaded}))
