"""The daily batch, for scripts that import it from here: it runs in `letterforge.pipeline`
(`run_batch`), over the stage modules (dayplan, issuing, recovery, executors, outputs)."""

from letterforge.dayplan import DayPlan, explain, plan_letters
from letterforge.executors import Renderer, default_jobs, render_pdf
from letterforge.pipeline import BatchReport, run_batch
from letterforge.recovery import workspace_lock

__all__ = ["BatchReport", "DayPlan", "Renderer", "default_jobs", "explain", "plan_letters", "render_pdf", "run_batch",
           "workspace_lock"]
