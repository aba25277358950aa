"""Requests per second and p50/p99 latency of `dnn serve` (docs/performance/serving-sweeps-reports.md).

Trains nothing: give it a run (or let it make the demo data and a short demo run in a
temporary folder), starts `dnn serve` as a process on a free port of 127.0.0.1 and sends
--requests POST /predict of one demo picture each from --clients threads, each with its
own keep-alive connection. The first --clients requests warm up and are not counted.

    .venv/bin/python bench/serve.py --requests 400 --clients 16
"""

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def demo_run(folder):
    """The demo data and a 50-iteration demo run in ``folder``; returns the run folder."""
    dnn = [sys.executable, "-m", "dnncli"]
    subprocess.run([*dnn, "data", "demo", "--out", str(folder / "demo")], check=True, capture_output=True)
    overrides = [f"data.train={folder / 'demo/train.h5'}", f"data.test={folder / 'demo/test.h5'}"]
    overrides += ["training.iterations=50", f"output.dir={folder / 'runs'}"]
    config = Path(__file__).resolve().parents[1] / "configs" / "demo.yaml"
    args = [*dnn, "train", "--config", str(config), "--quiet"] + [a for o in overrides for a in ("--set", o)]
    done = subprocess.run(args, check=True, capture_output=True, text=True)
    return Path(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="run folder to serve [default: a short demo run]")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        run = args.run or demo_run(tmp)
        picture = sorted((tmp / "demo" / "samples").glob("*.png"))[0].read_bytes() if not args.run else None
        if picture is None:
            from PIL import Image

            Image.new("RGB", (64, 64), (200, 40, 40)).save(tmp / "p.png")
            picture = (tmp / "p.png").read_bytes()
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [sys.executable, "-m", "dnncli", "serve", "--run", str(run), "--port", str(port), "--quiet"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(300):
                try:
                    httpx.get(url + "/health", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            run_load(url, picture, args.requests, args.clients)
        finally:
            server.terminate()
            server.wait()


def run_load(url, picture, requests, clients):
    def worker(count):
        latencies = []
        # TCP_NODELAY: else the client's Nagle waits for the server's delayed ACK (40 ms) between head and body
        transport = httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
        with httpx.Client(timeout=60, transport=transport) as client:
            for _ in range(count):
                start = time.perf_counter()
                response = client.post(url + "/predict", files=[("pictures", ("p.png", picture))])
                latencies.append(time.perf_counter() - start)
                assert response.status_code == 200, response.text
        return latencies

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, [1] * clients))  # warm up
        start = time.perf_counter()
        shares = [requests // clients + (i < requests % clients) for i in range(clients)]
        latencies = sorted(t for part in pool.map(worker, shares) for t in part)
        seconds = time.perf_counter() - start
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    print(
        f"{requests} requests, {clients} clients: {requests / seconds:.0f} requests/s, "
        f"p50 {1000 * p50:.1f} ms, p99 {1000 * p99:.1f} ms"
    )


if __name__ == "__main__":
    main()
