"""``tilecodec serve``: a local web page that compares a tilecodec model with JPEG, WebP, AVIF,
JPEG XL and JPEG 2000 at the same file size, and decodes uploaded ``.tlc`` files.

Starlette (a small ASGI toolkit with no dependencies of its own; the page needs a handful of
routes, not a framework with templates and an ORM) served by uvicorn. Uploads are raw request
bodies (no multipart parsing), read in chunks and refused past ``max_upload`` bytes. The work
runs in one worker thread, so the event loop keeps answering (progress, other pages, cancel)
while a comparison runs. Every file the server writes is inside one temporary folder, removed
when the server stops; the oldest jobs' folders go once more than ``KEEP_JOBS`` exist.
"""

import asyncio
import io
import shutil
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from ..errors import TilecodecError
from .jobs import Job

PAGE = Path(__file__).with_name("page.html")
KEEP_JOBS = 16
MAX_UPLOAD = 50 * 1024 * 1024
MAX_PIXELS = 24_000_000
DRAIN = 4


class Error(Exception):
    """A request the server refuses: ``status`` (4xx) and a one-line message for the page."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class Server:
    """The state behind the routes: the session folder, the jobs and the worker."""

    def __init__(self, max_upload: int = MAX_UPLOAD, max_pixels: int = MAX_PIXELS, compared=None):
        self.max_upload, self.max_pixels = max_upload, max_pixels
        self.compared = compared
        self.folder = Path(tempfile.mkdtemp(prefix="tilecodec-serve-"))
        self.jobs: dict[str, Job] = {}
        self.decoded: dict[str, dict] = {}
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tilecodec-serve")

    def close(self) -> None:
        for job in self.jobs.values():
            job.cancel()
        self.worker.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self.folder, ignore_errors=True)

    def new_folder(self) -> tuple[str, Path]:
        for old in list(self.jobs)[:-KEEP_JOBS + 1] if len(self.jobs) >= KEEP_JOBS else []:
            job = self.jobs.pop(old)
            job.cancel()
            shutil.rmtree(job.folder, ignore_errors=True)
        for old in list(self.decoded)[:-KEEP_JOBS + 1] if len(self.decoded) >= KEEP_JOBS else []:
            shutil.rmtree(self.decoded.pop(old)["folder"], ignore_errors=True)
        job_id = uuid.uuid4().hex[:12]
        folder = self.folder / job_id
        folder.mkdir()
        return job_id, folder

    async def body(self, request: Request) -> bytes:
        """The request body, or 413 once it passes ``max_upload``. An oversized body is still
        read and dropped up to ``DRAIN`` times the limit, so that the client gets the answer
        instead of a broken connection; past that the connection is simply closed."""
        limit = self.max_upload
        declared = request.headers.get("content-length")
        too_big = declared is not None and declared.isdigit() and int(declared) > limit
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                too_big = True
            if too_big:
                chunks = []
                if size > DRAIN * limit:
                    break
            else:
                chunks.append(chunk)
        if too_big:
            raise Error(413, f"the upload is {max(size, int(declared or 0)) / 1e6:.1f} MB; this server takes at most "
                             f"{limit / 1e6:.1f} MB (tilecodec serve --max-upload)")
        if not size:
            raise Error(400, "nothing was uploaded")
        return b"".join(chunks)

    def image(self, data: bytes, name: str) -> np.ndarray:
        """The uploaded image as HxWx3 uint8 (grayscale repeated), or Error."""
        from ..images import as_array

        try:
            with Image.open(io.BytesIO(data)) as im:
                width, height = im.size
                if width * height > self.max_pixels:
                    raise Error(413, f"{name} is {width}x{height} ({width * height / 1e6:.1f} MP); this server "
                                     f"takes at most {self.max_pixels / 1e6:.1f} MP (tilecodec serve --max-pixels)")
                im.load()
                array = as_array(im)
        except Error:
            raise
        except TilecodecError as exc:
            raise Error(422, f"{name}: {exc}") from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
            raise Error(415, f"{name} is not an image this server can read ({exc.__class__.__name__})") from None
        return np.repeat(array[:, :, None], 3, axis=2) if array.ndim == 2 else array


def _number(request: Request, key: str, lo: float, hi: float) -> float | None:
    value = request.query_params.get(key)
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except ValueError:
        raise Error(400, f"{key} must be a number, got {value!r}") from None
    if not lo <= number <= hi:
        raise Error(400, f"{key} must be between {lo:g} and {hi:g}, got {number:g}")
    return number


def create_app(server: Server | None = None) -> Starlette:
    """The ASGI app; ``server`` holds its limits and state (a new one by default)."""
    from ..api import load, models

    server = server or Server()

    async def page(request):
        return HTMLResponse(PAGE.read_text())

    async def list_models(request):
        from .. import zoo

        return JSONResponse({"models": [{"name": m, "description": zoo.entry(m).description} for m in models()],
                             "default": zoo.DEFAULT_MODEL, "max_upload": server.max_upload,
                             "max_pixels": server.max_pixels})

    async def start(request):
        model = request.query_params.get("model") or None
        if model is not None and model not in models():
            raise Error(400, f"unknown model {model!r}")
        quality = _number(request, "quality", 0, 100)
        target_bpp = _number(request, "bpp", 0.01, 8)
        if (quality is None) == (target_bpp is None):
            raise Error(400, "give either quality or bpp")
        name = request.query_params.get("name") or "the upload"
        data = await server.body(request)
        image = await asyncio.to_thread(server.image, data, name)
        codec = await asyncio.to_thread(load, model)
        job_id, folder = server.new_folder()
        kwargs = {"compared": server.compared} if server.compared else {}
        job = Job(job_id, folder, image, codec, quality, target_bpp, **kwargs)
        server.jobs[job_id] = job
        server.worker.submit(job.run)
        return JSONResponse(job.state(), status_code=202)

    def job_of(request) -> Job:
        job = server.jobs.get(request.path_params["job"])
        if job is None:
            raise Error(404, "no such comparison (it may have been removed to make room for newer ones)")
        return job

    async def status(request):
        return JSONResponse(job_of(request).state())

    async def cancel(request):
        job = job_of(request)
        job.cancel()
        return JSONResponse(job.state())

    async def file(request):
        name = request.path_params["name"]
        if request.path_params["job"] in server.decoded:
            files = server.decoded[request.path_params["job"]]["files"]
        else:
            files = job_of(request).files
        if name not in files:
            raise Error(404, f"no file {name!r} in this comparison (yet)")
        media = "image/png" if name.endswith(".png") else "application/octet-stream"
        return FileResponse(files[name], media_type=media,
                            headers={"Content-Disposition": f'attachment; filename="{name}"'}
                            if request.query_params.get("download") else None)

    async def decode(request):
        from ..api import info
        from ..images import save_image

        name = request.query_params.get("name") or "the upload"
        data = await server.body(request)

        def work():
            try:
                header = info(data)
                pixels = load(header.model).decompress(data)
            except TilecodecError as exc:
                raise Error(422, f"{name}: {exc}") from None
            job_id, folder = server.new_folder()
            save_image(pixels, folder / "decoded.png")
            server.decoded[job_id] = {"folder": folder, "files": {"decoded.png": folder / "decoded.png"}}
            return {"id": job_id, "model": header.model, "width": int(pixels.shape[1]),
                    "height": int(pixels.shape[0]), "bytes": len(data),
                    "bpp": 8 * len(data) / (pixels.shape[0] * pixels.shape[1]),
                    "decoded": f"/api/jobs/{job_id}/files/decoded.png"}

        return JSONResponse(await asyncio.to_thread(work))

    async def refused(request, exc: Error):
        return JSONResponse({"error": str(exc)}, status_code=exc.status)

    async def http_error(request, exc: HTTPException):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)

    async def internal(request, exc: Exception):
        return JSONResponse({"error": f"internal error ({exc.__class__.__name__}); the server keeps running"},
                            status_code=500)

    @asynccontextmanager
    async def lifespan(app):
        yield
        server.close()

    app = Starlette(routes=[
        Route("/", page),
        Route("/api/models", list_models),
        Route("/api/compare", start, methods=["POST"]),
        Route("/api/jobs/{job}", status),
        Route("/api/jobs/{job}/cancel", cancel, methods=["POST"]),
        Route("/api/jobs/{job}/files/{name}", file),
        Route("/api/decode", decode, methods=["POST"]),
        Route("/favicon.ico", lambda request: Response(status_code=204)),
    ], exception_handlers={Error: refused, HTTPException: http_error, Exception: internal}, lifespan=lifespan)
    app.state.server = server
    return app


def serve(host: str = "127.0.0.1", port: int = 8000, max_upload: int = MAX_UPLOAD,
          max_pixels: int = MAX_PIXELS) -> None:
    """Run the page until interrupted (Ctrl-C), then remove every file it wrote."""
    import uvicorn

    app = create_app(Server(max_upload=max_upload, max_pixels=max_pixels))
    print(f"tilecodec serve: http://{host}:{port}/ (Ctrl-C stops it)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
