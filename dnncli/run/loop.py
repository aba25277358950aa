"""The training loop: the engine's ``step()`` with what a run adds around it, validation and early stopping,
logging, periodic checkpoints, signals, and the exits (finished, diverged, interrupted)."""

import math

import numpy as np

from ..config.build import initial_params
from ..engine import make_trainer
from ..errors import Interrupted, RunFailure, UserError
from ..model.baselines import run_verdict
from ..model.collapse import learned_nothing, one_class_warning, same_inputs_warning, spread, uneven_classes
from ..model.honesty import class_counts, fitted_familiarity
from ..model.score import SCORES, score, task_of
from .advice import training_warnings
from .feed import training_source
from .layout import BEST, CHECKPOINT
from .posthoc import temperature_of
from .record import Kept, Progress, Recorder
from .signals import signal_name
from .threads import step_threads

SPLITS = ("train", "validation", "test")  # the sets a finished run is scored on, in this order
DIVERGENCE_FLOOR = 1.0  # the initial cost counts as at least this, so a run that starts near 0 is not stopped at 0.01


class Run:
    """A job trained in a run folder, from its start or from a saved checkpoint (``resume_from``); with no
    ``folder``, a run kept in memory (``record.Kept``), as the Python estimators train."""

    def __init__(self, job, folder, reporter, stop, resume_from=None):
        self.job = job
        self.folder = folder
        self.reporter = reporter
        self.stop = stop  # the run's ``StopSignals``, installed by the caller before the folder was made
        net = job.net
        augment = job.config["data"]["augment"] if job.settings.inputs_vary else None
        feed = training_source(net, job.train, job.dtype, augment, job.config["seed"])
        if resume_from is None:
            params = initial_params(job.net, job.config, job.dtype)
            state, iteration, self.progress = None, 0, Progress()
        else:
            params, state, iteration = resume_from.params, resume_from.state, resume_from.iteration
            self.progress = resume_from.progress
        self.trainer = make_trainer(net, params, job.settings, feed, job.plan.fast_path, state, iteration)
        if folder is None:
            self.record = Kept(job, self.trainer, self.progress)
        else:
            self.record = Recorder(job, folder, self.trainer, self.progress, resuming=resume_from is not None)
        self.record.class_counts = class_counts(job.train)
        self.record.familiarity = fitted_familiarity(job.train)  # the training inputs: the same at every resume
        self.warn_uneven()

    def warn(self, text):
        """A warning now, and in metrics.json."""
        self.reporter.warn(text)
        self.record.warnings.append(text)

    def warn_uneven(self):
        """Classes much rarer than an even share, named with the remedy, unless class weights are set already."""
        counts = self.record.class_counts
        if counts is not None and self.job.config["training"]["class_weight"] is None:
            text = uneven_classes(counts, self.job.train.classes)
            if text:
                self.warn(text)

    def save(self, status, final=None, snapshot=None, error=None):
        params, state = snapshot or self.trainer.snapshot()
        if not all(np.isfinite(p).all() for p in params.values()):
            self.diverged(self.trainer.iteration - 1, "nan or inf in the weights")
        self.record.save(status, params, state, final, error)

    def log(self, iteration, cost):
        """A record of the step just taken (observed by the trainer), with the validation scores."""
        record = {"iteration": iteration, "cost": cost}
        job = self.job
        if job.validation is not None:
            params, _ = self.trainer.snapshot()
            validation = score(job.net, params, job.validation, job.dtype)
            record["validation_cost"] = validation["cost"]
            for name in SCORES[task_of(job.net)]:
                record[f"validation_{name}"] = validation[name]
            self.watch_validation(iteration + 1, validation, params)
        record.update(self.trainer.health)
        self.progress.history.append(record)
        for text in training_warnings(self.progress.history, job.settings.learning_rate):
            self.reporter.warn(text)
        self.reporter.log(record)

    def watch_validation(self, done, validation, params):
        """Keep the best model beside the last; stop when it has not improved for ``patience`` checks.

        The validation scores of the record of iteration i are of the weights after its update, i + 1
        iterations ``done``: best.npz, metrics' best_iteration and the run's result all count that way,
        as every checkpoint counts the iterations its weights have had.
        """
        p, plan, cost = self.progress, self.job.plan, validation["cost"]
        if p.best_cost is None or cost < p.best_cost - plan.min_delta:
            p.best_cost, p.best_iteration, p.since_best = cost, done, 0
            p.best_scores = {name: validation[name] for name in SCORES[task_of(self.job.net)]}
            self.record.checkpoint(BEST, done, params)
        else:
            p.since_best += 1
            if plan.patience is not None and p.since_best >= plan.patience:
                p.stopped_early = True

    def run(self):
        """Trains to the job's length; returns the final scores ({split: scores or None})."""
        try:
            return self.loop()
        except RunFailure:
            self.reporter.finish("failed")
            raise
        except UserError as e:  # a set read from disk that turns out damaged as the run reads it
            self.record.failed(e.message)
            self.reporter.finish("failed")
            raise

    def loop(self):
        job, trainer, p = self.job, self.trainer, self.progress
        total, log_every, checkpoint_every = job.iterations, job.plan.log_every, job.plan.checkpoint_every
        stop, factor = self.stop, job.plan.divergence
        self.record.start_clock()
        self.reporter.start(total, trainer.iteration, p.history)
        initial = p.history[0]["cost"] if p.history else None
        # overflow shows up as a non-finite cost or weights, reported below in one line
        errors = np.errstate(over="ignore", invalid="ignore", divide="ignore")
        with errors, step_threads(trainer.largest_product):
            while trainer.iteration < total and not p.stopped_early:
                i = trainer.iteration
                logging = i % log_every == 0 or i == total - 1
                cost = trainer.step(observe=logging)
                if not math.isfinite(cost):
                    self.diverged(i, f"the cost became {cost}")
                initial = cost if initial is None else initial
                if factor is not None and cost > factor * max(initial, DIVERGENCE_FLOOR):
                    self.diverged(
                        i,
                        f"the cost {cost:.6g} is over {factor:g} times the initial {initial:.6g} (training.divergence)",
                    )
                p.pending.append(cost)
                self.reporter.update(i, cost)
                if logging:
                    self.log(i, cost if job.full_batch else float(np.mean(p.pending)))
                    p.pending = []
                if stop.requested:
                    self.interrupted(stop.requested)
                if checkpoint_every and trainer.iteration % checkpoint_every == 0 and trainer.iteration < total:
                    self.save("running")
        return self.finish()

    def finish(self):
        """Scores the trained model beside its baseline, calibrates it on the validation split (``calibrating``)
        and saves it; a model that learned nothing is saved as failed, then raised."""
        job = self.job
        snapshot = self.trainer.snapshot()
        failure = self.verdict(snapshot[0])
        final = {split: None for split in SPLITS}
        for split in final:
            dataset = getattr(job, split)
            if dataset is not None:
                final[split] = score(job.net, snapshot[0], dataset, job.dtype, self.record.class_counts)
        calibrate = failure is None and self.calibrating()
        if failure is None:
            verdict = run_verdict(final, job.train.classes, self.record.class_counts)
            if verdict:
                self.warn(verdict)
        if calibrate:
            self.record.calibration = self.calibrated(
                lambda: temperature_of(job.net, snapshot[0], job.validation, job.dtype)
            )
        if failure is None:
            self.reporter.finish("finished")  # after what the end of training says: the curve comes last
        self.save("finished" if failure is None else "failed", final, snapshot, failure)
        if failure is not None:
            raise RunFailure(failure + self.record.kept_note(CHECKPOINT))
        if calibrate and self.record.calibration:
            self.calibrated(lambda: self.record.calibrate_best(job.validation))
        return final

    def calibrating(self):
        """Whether the end of the run fits a temperature: on a validation split, for classes, unless
        ``training.calibrate`` is false."""
        job = self.job
        return job.validation is not None and not job.regression and job.config["training"]["calibrate"]

    def calibrated(self, fit):
        """What ``fit`` returns, or None with a warning when the validation split cannot calibrate the model."""
        try:
            return fit()
        except UserError as e:
            self.warn(f"not calibrated: {e.message}")
            return None

    def verdict(self, params):
        """Why the trained model learned nothing, or None; what it learned too little is a warning, recorded
        in metrics.json. One pass over the training set (model.collapse)."""
        job = self.job
        seen = spread(job.net, params, job.train, job.dtype)
        failure = learned_nothing(seen, job.settings.learning_rate)
        warning = None if failure else same_inputs_warning(seen) or one_class_warning(seen, job.train.classes)
        if warning:
            self.reporter.warn(warning)
            self.record.warnings.append(warning)
        return failure

    def diverged(self, iteration, what):
        rate = self.job.settings.learning_rate
        message = (
            f"training.learning_rate: {what} at iteration {iteration}; "
            f"the rate {rate:g} is probably too high, try {rate / 10:g}"
        )
        self.record.failed(message)
        raise RunFailure(message + self.record.kept_note())

    def interrupted(self, signum):
        self.stop.act()  # no second signal cuts the save short
        self.save("interrupted")  # before the reporter, whose terminal may be gone (SIGHUP)
        self.reporter.finish("interrupted")
        raise Interrupted(
            f"Interrupted by {signal_name(signum)} at iteration {self.trainer.iteration}: "
            f"saved {self.folder / CHECKPOINT}; continue with `dnn train --resume {self.folder}`",
            self.folder,
        )
