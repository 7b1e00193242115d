"""The progress display of fit/evaluate/predict: one callback over a tqdm bar.

On a terminal (``verbose=1``) a bar updates in place: step/steps, elapsed and remaining
time, the running loss and metrics. Otherwise (``verbose=2``, or output that is not a
terminal) one line per epoch, or one per evaluate/predict call.
"""
import sys
import time

from tqdm import tqdm

from .callbacks import Callback


def format_logs(logs):
    return " - ".join(f"{k}: {v:.4f}" if isinstance(v, float) else f"{k}: {v}"
                      for k, v in (logs or {}).items())


class ProgressBar(Callback):
    def __init__(self, verbose=1):
        super().__init__()
        if verbose not in (1, 2):
            raise ValueError(f"ProgressBar: verbose must be 1 (bar) or 2 (one line per "
                             f"epoch), got {verbose!r}")
        self.verbose = verbose
        self.in_fit, self.bar, self.started, self.epoch = False, None, 0.0, 0

    def _begin(self, title):
        out = sys.stdout
        self.started = time.perf_counter()
        if self.verbose == 1 and hasattr(out, "isatty") and out.isatty():
            if title:
                print(title, file=out, flush=True)
            self.bar = tqdm(total=self.params.get("steps"), file=out, unit="step",
                            dynamic_ncols=True, leave=True,
                            bar_format="{n_fmt}/{total_fmt} |{bar:30}| {elapsed}<{remaining}"
                                       "{postfix}")

    def _step(self, logs):
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix_str(format_logs(logs), refresh=False)

    def _end(self, title, logs, steps_done):
        if self.bar is not None:
            self.bar.set_postfix_str(format_logs(logs))
            self.bar.close()
            self.bar = None
            return
        seconds = time.perf_counter() - self.started
        per_step = seconds / max(steps_done, 1)
        per_step = f"{per_step * 1e3:.0f}ms" if per_step >= 1e-3 else f"{per_step * 1e6:.0f}us"
        parts = [f"{steps_done}/{self.params.get('steps') or steps_done}",
                 f"{seconds:.0f}s {per_step}/step"] + ([format_logs(logs)] if logs else [])
        print((f"{title}: " if title else "") + " - ".join(parts), flush=True)

    # ---- fit ----
    def on_train_begin(self, logs=None):
        self.in_fit = True

    def on_train_end(self, logs=None):
        self.in_fit = False

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch, self.steps_done = epoch, 0
        self._begin(self._epoch_title())

    def on_train_batch_end(self, batch, logs=None):
        self.steps_done = batch + 1
        self._step(logs)

    def on_epoch_end(self, epoch, logs=None):
        self._end(None if self.bar else self._epoch_title(), logs, self.steps_done)

    def _epoch_title(self):
        return f"Epoch {self.epoch + 1}/{self.params.get('epochs', '?')}"

    # ---- evaluate and predict (validation inside fit shows in the epoch's line) ----
    def on_test_begin(self, logs=None):
        if not self.in_fit:
            self.steps_done = 0
            self._begin(None)

    def on_test_batch_end(self, batch, logs=None):
        if not self.in_fit:
            self.steps_done = batch + 1
            self._step(logs)

    def on_test_end(self, logs=None):
        if not self.in_fit:
            self._end(None, logs, self.steps_done)

    def on_predict_begin(self, logs=None):
        self.steps_done = 0
        self._begin(None)

    def on_predict_batch_end(self, batch, logs=None):
        self.steps_done = batch + 1
        self._step(None)

    def on_predict_end(self, logs=None):
        self._end(None, None, self.steps_done)
