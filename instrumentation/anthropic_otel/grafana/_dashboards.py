"""Turn the panel catalog into Grafana dashboards with grafana-foundation-sdk builders.

Every panel and target uses the `${datasource}` template variable: nothing in the JSON names a
datasource uid unless `--datasource-uid` preselects one as the variable's current value.
"""

from __future__ import annotations

from typing import Any, Final, Union

from .. import semconv
from . import _catalog as c
from . import _promql as q
from ._options import Options
from ._sdk import (
    PromQueryFormat,
    common,
    dashboard,
    models_common,
    models_dashboard,
    prometheus,
    stat,
    table,
    timeseries,
)

DATASOURCE_VAR: Final = "datasource"
TAG: Final = "anthropic-otel"

_AnyPanel = Union[timeseries.Panel, stat.Panel, table.Panel]


def _datasource() -> models_common.DataSourceRef:
    return models_common.DataSourceRef(type_val="prometheus", uid=f"${{{DATASOURCE_VAR}}}")


def _target(t: c.Target, ref: str, instant: bool, table_format: bool) -> prometheus.Dataquery:
    query = prometheus.Dataquery().expr(t.expr).ref_id(ref).datasource(_datasource())
    if t.legend:
        query = query.legend_format(t.legend)
    query = query.instant() if instant else query.range()
    if table_format:
        query = query.format(PromQueryFormat.TABLE)
    return query


def _thresholds(th: c.Threshold) -> dashboard.ThresholdsConfig:
    return (
        dashboard.ThresholdsConfig()
        .mode(models_dashboard.ThresholdsMode.ABSOLUTE)
        .steps([models_dashboard.Threshold(None, th.below), models_dashboard.Threshold(th.value, th.above)])
    )


def _panel(p: c.Panel, panel_id: int) -> _AnyPanel:
    builder: _AnyPanel
    if p.kind == c.TIMESERIES:
        builder = timeseries.Panel().fill_opacity(10).show_points(models_common.VisibilityMode.NEVER)
        if p.threshold is not None:
            builder = builder.thresholds_style(
                common.GraphThresholdsStyleConfig().mode(models_common.GraphThresholdsStyleMode.DASHED)
            )
    elif p.kind == c.STAT:
        builder = stat.Panel().graph_mode(models_common.BigValueGraphMode.NONE)
    else:
        builder = table.Panel()
    builder = (
        builder.id(panel_id)
        .title(p.title)
        .description(p.description)
        .datasource(_datasource())
        .unit(p.unit)
        .span(p.width)
        .height(p.height)
    )
    if p.threshold is not None:
        builder = builder.thresholds(_thresholds(p.threshold))
    if p.min is not None:
        builder = builder.min(p.min)
    if p.max is not None:
        builder = builder.max(p.max)
    if p.no_value:
        builder = builder.no_value(p.no_value)
    instant = p.kind != c.TIMESERIES
    for i, t in enumerate(p.targets):
        builder = builder.with_target(_target(t, chr(ord("A") + i), instant, p.kind == c.TABLE))
    return builder


def _variables(o: Options) -> list[Any]:
    ds = dashboard.DatasourceVariable(DATASOURCE_VAR).label("Data source").type("prometheus")
    if o.datasource_uid:
        ds = ds.current(
            models_dashboard.VariableOption(text=o.datasource_uid, value=o.datasource_uid, selected=True)
        )
    requests = q.metric(semconv.ANTHROPIC_REQUESTS)
    job = (
        dashboard.QueryVariable(q.JOB)
        .label("Job / service")
        .description(
            "The Prometheus job: the scrape job, or service.name when metrics come through an OTel collector."
        )
        .datasource(_datasource())
        .query(f"label_values({requests}, {q.JOB})")
        .refresh(models_dashboard.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(models_dashboard.VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .all_value(".*")
    )
    if o.job:
        job = job.current(models_dashboard.VariableOption(text=o.job, value=o.job, selected=True))
    model = (
        dashboard.QueryVariable("model")
        .label("Model")
        .datasource(_datasource())
        .query(f'label_values({requests}{{{q.JOB}=~"$job"}}, {q.MODEL})')
        .refresh(models_dashboard.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(models_dashboard.VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .all_value(".*")
    )
    return [ds, job, model]


def build(d: c.Dashboard, o: Options) -> dashboard.Dashboard:
    builder = (
        dashboard.Dashboard(d.title)
        .uid(d.uid)
        .description(d.description)
        .tags([TAG])
        .editable()
        .time("now-6h", "now")
        .refresh("1m")
        .timezone("browser")
        .tooltip(models_dashboard.DashboardCursorSync.CROSSHAIR)
        .link(
            dashboard.DashboardLink("Anthropic dashboards")
            .type(models_dashboard.DashboardLinkType.DASHBOARDS)
            .tags([TAG])
            .as_dropdown(True)
            .include_vars(True)
            .keep_time(True)
        )
    )
    for variable in _variables(o):
        builder = builder.with_variable(variable)
    for i, p in enumerate(d.panels, start=1):
        builder = builder.with_panel(_panel(p, i))
    return builder


def render(d: c.Dashboard, o: Options) -> str:
    from ._sdk import JSONEncoder

    return JSONEncoder(sort_keys=True, indent=2).encode(build(d, o).build()) + "\n"
