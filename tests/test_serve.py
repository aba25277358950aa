"""`dnn serve` as a real process on a free port of 127.0.0.1, spoken to over HTTP with httpx."""

import io
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import h5py
import pytest
from PIL import Image
from test_images import png_header

httpx = pytest.importorskip("httpx")
pytest.importorskip("starlette")
pytest.importorskip("uvicorn")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``python -m dnncli serve ARGS`` on a free port; stopped (SIGTERM) by ``stop``."""

    def __init__(self, folder, *args, quiet=True):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(Path(folder) / f"serve-{self.port}.log", "w+")  # stdout, and stderr too when quiet
        self.errors = self.log if quiet else open(Path(folder) / f"serve-{self.port}.stderr", "w+")
        command = [sys.executable, "-m", "dnncli", "serve", "--port", str(self.port), *map(str, args)]
        command += ["--quiet"] if quiet else []
        self.process = subprocess.Popen(command, stdout=self.log, stderr=self.errors)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.output()
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError("the server did not answer /health in 30 s:\n" + self.output())

    def output(self):
        self.log.seek(0)
        return self.log.read()

    def error_output(self):
        self.errors.seek(0)
        return self.errors.read()

    def rss_kib(self):
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        self.errors.close()


@pytest.fixture(scope="module")
def server(demo_run, tmp_path_factory):
    running = Server(tmp_path_factory.mktemp("serve"), "--run", demo_run, "--max-pictures", 40)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def pictures(demo_data, tmp_path_factory):
    """The demo's four samples and twelve test examples saved as PNG: name -> bytes."""
    folder = tmp_path_factory.mktemp("pictures")
    for path in sorted((demo_data / "samples").iterdir()):
        shutil.copy(path, folder / path.name)
    with h5py.File(demo_data / "test.h5") as f:
        for i, pixels in enumerate(f["test_set_x"][:12]):
            Image.fromarray(pixels).save(folder / f"example-{i:02}.png")
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def expected(pictures, demo_run, tmp_path_factory):
    """What ``dnn predict --json`` prints for each picture, its path made the file's name."""
    folder = tmp_path_factory.mktemp("expected")
    for name, data in pictures.items():
        (folder / name).write_bytes(data)
    from click.testing import CliRunner

    from dnncli.cli import main

    result = CliRunner().invoke(main, ["predict", str(folder), "--run", str(demo_run), "--json"])
    assert result.exit_code == 0, result.output
    records = {}
    for line in result.stdout.splitlines():
        record = json.loads(line)
        record["path"] = Path(record["path"]).name
        records[record["path"]] = record
    assert records.keys() == pictures.keys()
    return records


def predict(url, files, client=httpx):
    return client.post(url + "/predict", files=[("pictures", f) for f in files], timeout=60)


def png_bytes(size=(64, 64), colour=(200, 40, 40)):
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def test_health_and_info(server, demo_run):
    assert httpx.get(server.url + "/health").json() == {"status": "ok"}
    info = httpx.get(server.url + "/info").json()
    assert info["checkpoint"] == str(demo_run / "checkpoint.npz") and info["run"] == str(demo_run)
    assert info["model"] == "last" and info["iteration"] == 300
    assert info["layers"] == [12288, 8, 4, 1] and info["classes"] == ["plain", "shape"]
    assert info["input_shape"] == [64, 64, 3] and info["max_pictures"] == 40


def test_records_are_dnn_predicts_to_the_bit_alone_or_together(server, pictures, expected):
    for name, data in pictures.items():
        response = predict(server.url, [(name, data)])
        assert response.status_code == 200, response.text
        assert response.json() == {"predictions": [expected[name]], "problems": []}  # floats: equal to the bit
    names = list(pictures)[::-1]
    response = predict(server.url, [(name, pictures[name]) for name in names])
    assert response.json()["predictions"] == [expected[name] for name in names]


def test_each_picture_is_answered_on_its_own_as_predict_does(server, pictures, expected, tmp_path):
    good = pictures["shape-2.png"]
    bomb = png_header(tmp_path / "bomb.png", 10_000, 10_000).read_bytes()
    cases = {
        "text.png": b"just some text, not a picture",
        "truncated.png": good[: len(good) // 2],
        "bomb.png": bomb,
    }
    for name, data in cases.items():  # the good one classified, the bad one named: 200
        response = predict(server.url, [("shape-2.png", good), (name, data)])
        assert response.status_code == 200, (name, response.text)
        answer = response.json()
        assert answer["predictions"] == [expected["shape-2.png"]]
        [problem] = answer["problems"]
        assert problem["picture"] == name and problem["error"].startswith(f"{name}: ")
    response = predict(server.url, [(n, d) for n, d in cases.items()])  # none classified: 422
    assert response.status_code == 422
    assert response.json()["error"] == "3 of 3 pictures could not be read; nothing was classified"
    problems = [p["error"] for p in response.json()["problems"]]
    assert "not a picture" in problems[0] and "truncated or damaged" in problems[1]
    assert "decompression bomb" in problems[2]
    assert predict(server.url, [("again.png", good)]).status_code == 200


def test_a_name_that_is_a_real_file_is_never_read(server, demo_data):
    real = demo_data / "samples" / "shape-2.png"
    response = predict(server.url, [(str(real), b"not the picture on disk")])
    assert response.status_code == 422
    assert response.json()["problems"][0]["error"].startswith(f"{real}: not a picture")


def test_request_lines_go_to_stdout_and_notices_to_stderr_as_the_help_says(demo_run, tmp_path, dnn):
    assert "No line per request on stdout" in dnn("serve", "--help").stdout
    talking = Server(tmp_path, "--run", demo_run, quiet=False)
    try:
        assert httpx.get(talking.url + "/info", timeout=10).status_code == 200
        deadline = time.monotonic() + 30  # the line is written once the answer has gone
        while '"GET /info HTTP/1.1" 200' not in talking.output() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert '"GET /info HTTP/1.1" 200' in talking.output()
        assert "GET /info" not in talking.error_output() and "Serving" in talking.error_output()
    finally:
        talking.stop()


def test_over_the_size_limit_is_413_and_the_server_goes_on(demo_run, tmp_path):
    small = Server(tmp_path, "--run", demo_run, "--max-upload-mb", 1)
    try:
        big = os.urandom(1_100_000)
        response = predict(small.url, [("big.png", big)])
        assert response.status_code == 413
        assert response.json() == {"error": "the upload is over 1 MB (--max-upload-mb)"}

        def chunks():  # no Content-Length: the server counts what it reads
            yield b'--xyz\r\nContent-Disposition: form-data; name="pictures"; filename="big.png"\r\n\r\n'
            for _ in range(40):
                yield b"-" * 100_000

        headers = {"Content-Type": "multipart/form-data; boundary=xyz"}
        response = httpx.post(small.url + "/predict", content=chunks(), headers=headers, timeout=30)
        assert response.status_code == 413 and "over 1 MB" in response.json()["error"]
        with socket.create_connection(("127.0.0.1", small.port), timeout=30) as raw:  # the way curl sends
            raw.sendall(
                b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                b"Content-Length: 30000000\r\nExpect: 100-continue\r\n\r\n"
            )
            answer = raw.recv(4096)
        assert answer.startswith(b"HTTP/1.1 413 "), answer  # at once, without a byte of the body
        assert predict(small.url, [("ok.png", png_bytes())]).status_code == 200
    finally:
        small.stop()


def test_a_slow_body_is_408_and_a_body_in_no_multipart_form_one_line_in_the_log(demo_run, tmp_path):
    slow = Server(tmp_path, "--run", demo_run, "--body-timeout", "0.5")
    try:
        with socket.create_connection(("127.0.0.1", slow.port), timeout=30) as raw:  # half a body, then nothing
            raw.sendall(
                b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                b'Content-Length: 100000\r\n\r\n--b\r\nContent-Disposition: form-data; name="p"; filename="a.png"\r\n'
            )
            answer = b""
            while chunk := raw.recv(4096):  # the server answers and closes
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 408 "), answer
        assert answer.endswith(b'{"error":"the body did not all come within 0.5 s (--body-timeout)"}')
        response = httpx.post(
            slow.url + "/predict", content=b"garbage", headers={"Content-Type": "multipart/form-data; boundary=b"}
        )
        assert response.json() == {"error": "not a readable multipart/form-data body (Invalid multipart data)"}
        assert predict(slow.url, [("ok.png", png_bytes())]).status_code == 200
        lines = slow.output().splitlines()[1:]  # after the line saying what it serves
        assert len(lines) == 1 and lines[0].startswith("WARNING:  127.0.0.1:"), lines
        assert lines[0].endswith(": not a readable multipart/form-data body (Invalid multipart data)")
    finally:
        slow.stop()


def test_a_model_that_overflows_on_a_picture_is_500_with_the_reason_and_the_server_goes_on(demo_run, tmp_path):
    from dnncli.model import checkpoint

    folder = tmp_path / "run"
    shutil.copytree(demo_run, folder)
    saved = checkpoint.load(folder / "checkpoint.npz")
    huge = {name: value * 1e300 if name.startswith("W") else value for name, value in saved.params.items()}
    checkpoint.save(
        folder / "checkpoint.npz", saved.header, huge, extra=saved.arrays
    )  # finite weights whose products overflow
    overflowing = Server(tmp_path, "--checkpoint", folder / "checkpoint.npz")
    try:
        response = predict(overflowing.url, [("a.png", png_bytes())])
        assert response.status_code == 500
        assert response.json()["error"] == (
            f"the model cannot classify these pictures: {folder / 'checkpoint.npz'}: its weights overflow float64 "
            "on these pictures (the output layer's pre-activation is inf or nan)"
        )
        assert httpx.get(overflowing.url + "/health", timeout=5).status_code == 200
    finally:
        overflowing.stop()


def test_too_many_pictures_and_malformed_requests(server):
    many = [(f"p{i}.png", png_bytes()) for i in range(41)]
    response = predict(server.url, many)
    assert response.status_code == 413
    assert response.json() == {"error": "41 pictures; at most 40 in one request"}
    assert predict(server.url, many[:40]).status_code == 200
    response = httpx.post(server.url + "/predict", data={"note": "no file"}, files={"x": ("", b"")})
    assert response.status_code in (400, 422)
    response = httpx.post(server.url + "/predict", json={"pictures": "/etc/passwd"})
    assert response.status_code == 400 and "multipart/form-data" in response.json()["error"]
    response = httpx.post(
        server.url + "/predict", content=b"garbage", headers={"Content-Type": "multipart/form-data; boundary=b"}
    )
    assert response.status_code == 400 and "error" in response.json()
    response = httpx.get(server.url + "/predict")
    assert response.status_code == 405 and response.json() == {"error": "Method Not Allowed"}
    assert httpx.get(server.url + "/nowhere").json() == {"error": "Not Found"}
    assert httpx.get(server.url + "/health").status_code == 200


def test_load_mixing_good_and_bad_pictures(server, pictures, expected):
    """400 requests from 16 clients at once: every answer right, the server's memory bounded."""
    names = list(pictures)
    bad = {"junk.png": b"\x89PNG\r\n\x1a\n" + b"\0" * 500, "cut.jpg": pictures["plain-1.jpg"][:700]}
    jobs = []
    for i in range(400):
        if i % 4 == 3:
            jobs.append([list(bad.items())[i % 2]])
        else:
            count = 3 if i % 10 == 0 else 1
            jobs.append([(names[(i + k) % len(names)], pictures[names[(i + k) % len(names)]]) for k in range(count)])
    clients = threading.local()

    def send(job):
        if not hasattr(clients, "client"):
            clients.client = httpx.Client(timeout=60)
        response = predict(server.url, job, clients.client)
        if job[0][0] in bad:
            return response.status_code == 422 and len(response.json()["problems"]) == 1
        return response.status_code == 200 and response.json()["predictions"] == [expected[n] for n, _ in job]

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(send, jobs[:32]))
        warm = server.rss_kib()
        answers = list(pool.map(send, jobs))
    assert all(answers), f"{answers.count(False)} wrong or failed answers"
    grown = server.rss_kib() - warm
    print(f"server RSS {warm} KiB after the warm-up, {warm + grown} KiB after 400 requests")
    assert grown < 64 * 1024, f"the server's RSS grew by {grown} KiB over 400 requests"
    assert "Traceback" not in server.output()


def test_cannot_listen_is_a_user_error(demo_run, dnn):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = dnn("serve", "--run", demo_run, "--port", port)
    assert result.exit_code == 2
    assert f"--host 127.0.0.1 --port {port}: cannot listen there" in result.stderr


def test_no_such_run(dnn, tmp_path):
    result = dnn("serve", "--run", tmp_path / "nothing")
    assert result.exit_code == 2 and "Error:" in result.stderr


def test_help_loads_neither_numpy_nor_the_web_stack():
    code = (
        "import sys\nfrom dnncli.cli import main\n"
        "for command in ('serve', 'export'):\n"
        "    try:\n        main([command, '--help'])\n    except SystemExit:\n        pass\n"
        "print(sorted(m for m in ('numpy', 'starlette', 'uvicorn', 'onnx', 'PIL') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.splitlines()[-1] == "[]"
    assert "--max-upload-mb" in result.stdout and "--out" in result.stdout


def test_a_slow_request_does_not_stall_the_others(server, pictures, expected, tmp_path):
    """Pictures of 9 million pixels take a while to decode and shrink; meanwhile small requests are answered."""
    buffer = io.BytesIO()
    Image.new("RGB", (3000, 3000), (90, 140, 200)).save(buffer, "PNG")
    large = [(f"large-{i}.png", buffer.getvalue()) for i in range(2)]
    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(predict, server.url, large)
        answered = []
        while not slow.done() and len(answered) < 3:
            answered.append(httpx.get(server.url + "/health").status_code)
            small = predict(server.url, [("shape-2.png", pictures["shape-2.png"])])
            assert small.json()["predictions"] == [expected["shape-2.png"]]
        assert answered and not slow.done(), "the large request finished before any small one was answered"
        assert slow.result().status_code == 200


def test_best_weights_are_served_and_said_so(demo_data, tmp_path):
    from conftest import train_run, write_config
    from dnncli.model import checkpoint

    config = write_config(tmp_path / "c.yaml", demo_data, training={"iterations": 40, "validation_fraction": 0.2})
    run = train_run(tmp_path, config)
    best = Server(tmp_path, "--run", run, "--best")
    try:
        info = httpx.get(best.url + "/info").json()
        assert info["model"] == "best" and info["checkpoint"] == str(run / "best.npz")
        assert info["iteration"] == checkpoint.load(run / "best.npz").iteration
    finally:
        best.stop()
