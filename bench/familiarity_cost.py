"""What measuring unfamiliarity costs: fitting it at the start of a run, and scoring pictures as predict does.

    python bench/familiarity_cost.py

Fits ``model.honesty.fitted_familiarity`` on sets of 64 x 64 RGB pictures of 300, 2,000 and 5,000 pictures
(and 20,000, of which 5,000 are fitted on: ``FIT_EXAMPLES``), the demo's kind of picture (``data.demo``), and
times ``answers.picture_unfamiliarity`` on 1 picture and on a batch of 64 (predict's batch). Median of 3 runs;
prints Markdown. The machine's load shows in the figures: run it alone.
"""

import statistics
import time

import numpy as np

from dnncli.data.dataset import Dataset
from dnncli.data.demo import pictures
from dnncli.model.answers import picture_unfamiliarity
from dnncli.model.honesty import FIT_EXAMPLES, fitted_familiarity


class Saved:
    """What ``picture_unfamiliarity`` reads of a checkpoint."""

    def __init__(self, familiarity):
        self.familiarity = familiarity


def timed(work, runs=3):
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def demo_pictures(m, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, m)
    return pictures(labels, 2, rng), labels


def main():
    print("| training pictures | fitted on | fit, seconds |")
    print("| ---: | ---: | ---: |")
    fitted = None
    for m in (300, 2_000, 5_000, 20_000):
        x, y = demo_pictures(m)
        dataset = Dataset(x, y, ["plain", "shape"], "memory")
        seconds = timed(lambda dataset=dataset: fitted_familiarity(dataset), runs=1 if m > FIT_EXAMPLES else 3)
        fitted = fitted or fitted_familiarity(dataset)
        print(f"| {m:,} | {min(m, FIT_EXAMPLES):,} | {seconds:.2f} |", flush=True)
    x, _ = demo_pictures(64, seed=1)
    saved = Saved(fitted)
    one = timed(lambda: picture_unfamiliarity(saved, x[:1]), runs=20)
    batch = timed(lambda: picture_unfamiliarity(saved, x), runs=20)
    print()
    print("| pictures scored | milliseconds | per picture |")
    print("| ---: | ---: | ---: |")
    print(f"| 1 | {one * 1e3:.2f} | {one * 1e3:.2f} |")
    print(f"| 64 | {batch * 1e3:.1f} | {batch * 1e3 / 64:.2f} |")


if __name__ == "__main__":
    main()
