"""Bulk embedding on a Ray cluster (the optional extra: pip install 'semdigest[cluster]').

Ray Data `map_batches` over a fixed pool of embedder actors (ActorPoolStrategy), each running the model the data
directory already uses: the int8 ONNX artefact from its cache (built once, by the driver, before any actor
starts) or sentence-transformers; on a GPU when the worker has one (choose_device).

The driver (Home.index(engine="ray")) alone holds the writer lock and touches SQLite. It reads the texts without
a vector page by page (Store.unembedded_page), hands each window to Ray as one dataset, and writes the vectors
back as they stream out, one transaction per batch: an interrupted run keeps every finished batch in the
content-hash cache, and the next run reads only what is still missing. Vectors travel back to the driver through
Ray's object store (384 float32 = 1.5 kB a paper): at 2.7M papers, 4 GB in all, far below what SQLite writes.
Ray is imported only here, inside functions: the base install and `similar` never load it.
"""

from __future__ import annotations

import json
import logging
import socket
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ClusterUnreachable, MissingExtra
from ..files import atomic_write_bytes
from ..store import Store
from .onnx import OnnxEmbedder, cpu_count, read_meta
from .registry import DEFAULT_MODEL, Embedder, resolve_model
from .st import SentenceTransformerEmbedder

INSTALL_HINT = "--engine ray needs Ray, which is not installed: pip install 'semdigest[cluster]'"
BATCH = 256  # texts per actor call, and vectors per store transaction
# Texts per worker in one Ray dataset (one window): an actor pool starts in 2-5 s, under 5% of a window's ~90 s
# on a CPU worker (~45 papers/s a core); the window also bounds what the driver holds in memory.
WINDOW_PER_WORKER = 4096
CPU_ONLY = ("CPUExecutionProvider",)


def require_ray() -> Any:
    """The ray module, or the one-line error that says how to install it."""
    try:
        import ray
    except ImportError:
        raise MissingExtra(INSTALL_HINT) from None
    return ray


@dataclass(frozen=True)
class WorkerSpec:
    """What each actor loads: the driver's model, by paths every worker can read."""

    model: str  # the name the embedder is made with (the int8 path appends its suffix itself)
    folder: str | None = None  # sentence-transformers folder (fp32 path)
    artefact: str | None = None  # the int8 ONNX artefact in the data directory's cache (fast path)
    meta: dict[str, Any] | None = None
    # the artefact's files (~23 MB, shipped once through Ray's object store), for a node where `artefact` is absent
    files: dict[str, bytes] | None = None
    threads: int = 1  # one run on one core: measured best on 2 cores (onnx.py)

    @classmethod
    def of(cls, embedder: Embedder) -> WorkerSpec:
        if isinstance(embedder, OnnxEmbedder):
            files = {name: (embedder.artefact / name).read_bytes() for name in embedder.meta["sha256"]}
            return cls(embedder.base_model_id, artefact=str(embedder.artefact), meta=embedder.meta, files=files)
        if isinstance(embedder, SentenceTransformerEmbedder):
            return cls(embedder.model_id, folder=str(embedder.folder))
        raise TypeError(f"no Ray worker for {type(embedder).__name__}")


@dataclass(frozen=True)
class Device:
    """Where an actor runs its model."""

    providers: tuple[str, ...] = CPU_ONLY  # onnxruntime's, for the int8 artefact, in order of preference
    torch_device: str = "cpu"  # sentence-transformers'
    half: bool = False


def choose_device(spec: WorkerSpec, *, gpu: bool, onnx_providers: Sequence[str]) -> Device:
    """A worker with a CUDA GPU uses it. The int8 artefact goes through onnxruntime's CUDA provider when this
    onnxruntime has one (the onnxruntime-gpu package), with the CPU provider behind it for the int8 operators
    CUDA lacks; the same graph, so the vectors keep their model_id. An fp32 model runs as sentence-transformers
    fp16 on CUDA (tensor cores), which keeps the fp32 model_id (st.py). Neither was measured on a GPU."""
    if not gpu:
        return Device()
    if spec.artefact is None:
        return Device(torch_device="cuda", half=True)
    if "CUDAExecutionProvider" in onnx_providers:
        return Device(providers=("CUDAExecutionProvider", *CPU_ONLY))
    return Device()


def load_worker_embedder(spec: WorkerSpec, device: Device) -> Embedder:
    if spec.artefact is not None and spec.meta is not None:
        artefact = _artefact_on_this_node(spec)
        return OnnxEmbedder(artefact, spec.meta, spec.model, workers=spec.threads, providers=device.providers)
    # the default model ships inside a package, installed at another path on another node
    folder = resolve_model(DEFAULT_MODEL) if spec.model == DEFAULT_MODEL else Path(str(spec.folder))
    return SentenceTransformerEmbedder(folder, spec.model, device=device.torch_device, half=device.half)


def _artefact_on_this_node(spec: WorkerSpec) -> Path:
    """The driver's artefact where this node sees it intact (the driver's machine, a shared file system), else
    the shipped files, written once per node under the temporary folder (named by the model's fingerprint)."""
    path = Path(str(spec.artefact))
    if read_meta(path) is not None or not spec.files:
        return path
    copy = Path(tempfile.gettempdir()) / "semdigest-artefacts" / path.name
    if read_meta(copy) is None:
        for name, data in [*spec.files.items(), ("meta.json", json.dumps(spec.meta).encode())]:
            atomic_write_bytes(copy / name, data)  # meta.json last: read_meta checks the others against it
    return copy


class EmbedActor:
    """One actor of the pool: loads the model once, then embeds each batch of texts it is handed."""

    def __init__(self, spec: WorkerSpec) -> None:
        import ray

        gpu = bool(ray.get_gpu_ids())
        providers: list[str] = []
        if gpu and spec.artefact is not None:
            import onnxruntime

            providers = onnxruntime.get_available_providers()
        device = choose_device(spec, gpu=gpu, onnx_providers=providers)
        if gpu and device.providers == CPU_ONLY and device.torch_device == "cpu":
            logging.getLogger(__name__).warning("a GPU, but onnxruntime lacks CUDA: pip install onnxruntime-gpu")
        self.embedder = load_worker_embedder(spec, device)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        texts = [str(text) for text in batch["text"]]
        return {"hash": batch["hash"], "vector": self.embedder.encode(texts, batch_size=max(len(texts), 1))}


def embed_on_ray(
    store: Store,
    embedder: Embedder,
    *,
    address: str | None = None,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Embed every stored text without a vector for `embedder.model_id` on a Ray cluster (`address`; None: a
    local one of `workers` CPUs) with `workers` actors (default: one per GPU, else one per CPU); returns how many
    texts were embedded. A Ray already initialised in this process is used as it is and left running."""
    ray = require_ray()
    owned = not ray.is_initialized()
    if owned:
        _start(ray, address, workers)
    try:
        resources = ray.cluster_resources()
        gpus = int(resources.get("GPU", 0))
        size = min(workers or gpus, gpus) if gpus else workers or max(int(resources.get("CPU", 1)), 1)
        spec = WorkerSpec.of(embedder)
        done = 0
        for window in _windows(store, embedder.model_id, size * WINDOW_PER_WORKER):
            for hashes, vectors in _embed_window(ray, window, spec, size, gpu=bool(gpus)):
                store.put_vectors(embedder.model_id, hashes, vectors)
                done += len(hashes)
                if progress:
                    progress(len(hashes))
        return done
    finally:
        if owned:
            ray.shutdown()


def _start(ray: Any, address: str | None, workers: int | None) -> None:
    quiet = {"log_to_driver": False, "logging_level": logging.WARNING}
    if address:
        _check_reachable(address)
        ray.init(address=address, **quiet)
    else:
        ray.init(num_cpus=workers or cpu_count(), include_dashboard=False, **quiet)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # semdigest's own meter reports progress
    logging.getLogger("ray.data").setLevel(logging.ERROR)  # its INFO lines, and a warning that bars are off


def _check_reachable(address: str) -> None:
    """Ray retries an address that does not answer for minutes on end: a plain TCP connection fails in seconds."""
    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=10).close()
    except (OSError, ValueError) as error:
        raise ClusterUnreachable(f"cannot reach the Ray cluster at {address}: {error}") from None


def _windows(store: Store, model_id: str, size: int) -> Iterator[list[tuple[str, str]]]:
    """(hash, text) windows of the store's unembedded texts, each hash once. A window is read after the one
    before it is written, so a text shared by papers in two windows is embedded once."""
    after = -1
    while page := store.unembedded_page(model_id, after, size):
        after = page[-1][0]
        yield list({digest: text for _, digest, text in page}.items())


def _embed_window(
    ray: Any, window: list[tuple[str, str]], spec: WorkerSpec, size: int, *, gpu: bool
) -> Iterator[tuple[list[str], np.ndarray]]:
    """(hashes, vectors) batches of one window, in the order the actors finish them."""
    rows = sorted(window, key=lambda row: len(row[1]))  # batches of like lengths: little padding on a GPU
    batch = max(1, min(BATCH, -(-len(rows) // size)))  # a small window still reaches every actor
    dataset = ray.data.from_items(
        [{"hash": digest, "text": text} for digest, text in rows], override_num_blocks=-(-len(rows) // batch)
    )
    vectors = dataset.map_batches(
        EmbedActor,
        fn_constructor_kwargs={"spec": spec},
        compute=ray.data.ActorPoolStrategy(size=size),
        batch_size=batch,
        batch_format="numpy",
        num_cpus=spec.threads,
        num_gpus=1 if gpu else None,
    )
    for done in vectors.iter_batches(batch_size=batch, batch_format="numpy"):
        yield [str(digest) for digest in done["hash"]], np.asarray(done["vector"], dtype=np.float32)
