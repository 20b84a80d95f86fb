/*
 * report — writes the annual report page (see report.h). Tables and the
 * written summary are HTML made here, so the page reads without a script;
 * the charts are drawn by the embedded report script from a JSON block.
 * Legend states follow the console (web/common.js): met, near (≥ 90 % of
 * the target, standards §7), missed, no target, small numbers, no data.
 */
#include "monitor/report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "web/assets.h"

enum { ST_MET, ST_NEAR, ST_MISSED, ST_NOTARGET, ST_SMALL, ST_NODATA };
static const char *const st_class[] = {"met", "near", "missed", "notarget", "suppressed", "nodata"};
static const char *const st_zh[] = {"达标", "接近目标", "未达标", "无目标", "小数字", "无数据"};
static const char *const st_en[] = {"met", "near target", "missed", "no target", "small numbers", "no data"};
static const char *const kind_sign[] = {"", "≥", ">", "≤", "<", "≥", "annual change", "stable", "increasing"};

static int status(const jl_indicator_t *ind, const jl_result_t *r)
{
	if (!r->has_value)
		return ST_NODATA;
	if (r->suppressed)
		return ST_SMALL;
	if (r->target && (r->target->kind == JL_T_ANNUAL || r->target->kind == JL_T_INCREASING)) {
		/*
		 * Against last year: the year's change decides; short of it but on
		 * the plan's path is near; without last year, the path alone.
		 */
		if (r->met == 1)
			return ST_MET;
		if (r->met == 0)
			return r->on_track == 1 ? ST_NEAR : ST_MISSED;
		return r->on_track < 0 ? ST_NOTARGET : r->on_track ? ST_MET : ST_MISSED;
	}
	if (!r->target || r->met < 0)
		return ST_NOTARGET;
	if (r->met == 1)
		return ST_MET;
	if (r->target->kind == JL_T_STABLE) /* no bound to be near to */
		return ST_MISSED;
	double t = r->target_value, v = r->value;
	double ach = ind->direction == JL_DIR_LOWER ? (v > 0 ? t / v : 1) : (t != 0 ? v / t : 0);
	return ach >= 0.9 ? ST_NEAR : ST_MISSED;
}

static void html(jl_buf_t *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': jl_buf_puts(b, "&amp;"); break;
		case '<': jl_buf_puts(b, "&lt;"); break;
		case '>': jl_buf_puts(b, "&gt;"); break;
		case '"': jl_buf_puts(b, "&quot;"); break;
		default: jl_buf_putc(b, *s);
		}
	}
}

static const char *name_en(const jl_indicator_t *ind)
{
	return ind->name_en && *ind->name_en ? ind->name_en : ind->name;
}

static void num(jl_buf_t *b, bool has, double v)
{
	if (has && isfinite(v))
		jl_buf_printf(b, "%.2f", v);
	else
		jl_buf_puts(b, "—");
}

static void target_text(jl_buf_t *b, const jl_result_t *r)
{
	if (!r->target) {
		jl_buf_puts(b, "—");
		return;
	}
	if (r->target->kind == JL_T_ANNUAL) {
		jl_buf_printf(b, "每年 %+.2f / year (%d)", r->target_value, r->target->year);
		if (r->has_path)
			jl_buf_printf(b, "<br><small>进度 path %.2f</small>", r->path);
		return;
	}
	if (r->target->kind == JL_T_STABLE && r->target->has_baseline) {
		jl_buf_printf(b, "保持稳定 stable %.2f", r->target->baseline);
		if (r->target->has_tolerance)
			jl_buf_printf(b, " ± %.2f", r->target->tolerance);
		jl_buf_printf(b, " (%d)", r->target->year);
		return;
	}
	html(b, kind_sign[r->target->kind]);
	if (r->target->has_value)
		jl_buf_printf(b, " %.2f", r->target_value);
	jl_buf_printf(b, " (%d)", r->target->year);
}

/*
 * A target against last year, in words: the change, what was asked, and
 * where the value stands against the plan's path.
 */
static void change_sentence(const jl_indicator_t *ind, const jl_result_t *r, int st, jl_buf_t *zh, jl_buf_t *en)
{
	const char *unit = ind->unit;
	bool annual = r->target->kind == JL_T_ANNUAL;
	jl_buf_printf(zh, "<li class=\"st-%s\">", st_class[st]);
	html(zh, ind->name);
	jl_buf_printf(zh, "为 %.2f%s", r->value, unit);
	jl_buf_printf(en, "<li class=\"st-%s\">", st_class[st]);
	html(en, name_en(ind));
	jl_buf_printf(en, " was %.2f %s", r->value, unit);
	if (r->has_prev) {
		jl_buf_printf(zh, "，较上年变化 %+.2f", r->change);
		jl_buf_printf(en, ", a change of %+.2f on the year before", r->change);
		if (annual) {
			jl_buf_printf(zh, "（目标每年 %+.2f），%s", r->target_value, r->met == 1 ? "达到" : "未达到");
			jl_buf_printf(en, " (target %+.2f a year): %s", r->target_value, r->met == 1 ? "met" : "missed");
		} else {
			jl_buf_printf(zh, "，%s", r->met == 1 ? "持续提升" : "未提升");
			jl_buf_printf(en, ": %s", r->met == 1 ? "still increasing" : "not increasing");
		}
	} else {
		jl_buf_puts(zh, "，无上年数值");
		jl_buf_puts(en, ", with no value for the year before");
	}
	if (r->has_path) {
		jl_buf_printf(zh, "；按规划进度应为 %.2f，%s", r->path, r->on_track == 1 ? "符合进度" : "落后于进度");
		jl_buf_printf(en, "; the plan's path is %.2f: %s", r->path, r->on_track == 1 ? "on track" : "off track");
	}
	jl_buf_printf(zh, "%s。</li>\n", r->suppressed ? "（分母较小，仅供参考）" : "");
	jl_buf_printf(en, "%s.</li>\n", r->suppressed ? " (small denominator: indicative only)" : "");
}

static void main_table(const jl_cube_t *c, uint32_t node, jl_buf_t *b)
{
	jl_buf_puts(b, "<table class=\"ind\"><thead><tr><th>指标 Indicator</th><th>数值 Value</th><th>单位 Unit</th>"
		       "<th>分子/分母 n/N</th><th>95% CI</th><th>目标 Target</th><th>差距 Gap</th>"
		       "<th>状态 Status</th></tr></thead><tbody>\n");
	for (uint32_t i = 0; i < c->cat->ninds; i++) {
		const jl_indicator_t *ind = &c->cat->inds[i];
		jl_result_t r;
		jl_engine_result(c, i, node, 0, -1, &r);
		int st = status(ind, &r);
		jl_buf_printf(b, "<tr id=\"ind-%s\"><td>", ind->id);
		html(b, ind->name);
		jl_buf_puts(b, "<br><small>");
		html(b, name_en(ind));
		jl_buf_puts(b, "</small></td><td class=\"n\">");
		num(b, r.has_value, r.value);
		jl_buf_puts(b, "</td><td>");
		html(b, ind->unit);
		jl_buf_printf(b, "</td><td class=\"n\">%lld/%lld</td><td class=\"n\">", (long long)r.num, (long long)r.den);
		if (r.has_value && isfinite(r.lo))
			jl_buf_printf(b, "%.2f–%.2f", r.lo, r.hi);
		jl_buf_puts(b, "</td><td>");
		target_text(b, &r);
		jl_buf_puts(b, "</td><td class=\"n\">");
		num(b, r.has_gap, r.gap);
		jl_buf_printf(b, "</td><td class=\"st st-%s\">%s %s</td></tr>\n", st_class[st], st_zh[st], st_en[st]);
	}
	jl_buf_puts(b, "</tbody></table>\n");
}

/* One sentence per indicator with a verdict, in both languages. */
/* counts: legend states; verdict[0..2]: met, missed but near, missed (of those with a target and a value). */
static void sentences(const jl_cube_t *c, uint32_t node, jl_buf_t *zh, jl_buf_t *en, int counts[6], int verdict[3])
{
	for (uint32_t i = 0; i < c->cat->ninds; i++) {
		const jl_indicator_t *ind = &c->cat->inds[i];
		jl_result_t r;
		jl_engine_result(c, i, node, 0, -1, &r);
		int st = status(ind, &r);
		counts[st]++;
		if (r.target && r.has_value && st <= ST_MISSED &&
		    (r.target->kind == JL_T_ANNUAL || r.target->kind == JL_T_INCREASING)) {
			verdict[st]++;
			change_sentence(ind, &r, st, zh, en);
			continue;
		}
		if (r.target && r.target->kind == JL_T_STABLE && r.has_value && r.met >= 0) {
			verdict[r.met == 1 ? 0 : 2]++;
			jl_buf_printf(zh, "<li class=\"st-%s\">", st_class[st]);
			html(zh, ind->name);
			jl_buf_printf(zh, "为 %.2f%s，与基线 %.2f 相差 %+.2f，%s保持稳定（允许 ± %.2f）%s。</li>\n", r.value,
				      ind->unit, r.target->baseline, r.gap, r.met == 1 ? "" : "未", r.target->tolerance,
				      r.suppressed ? "（分母较小，仅供参考）" : "");
			jl_buf_printf(en, "<li class=\"st-%s\">", st_class[st]);
			html(en, name_en(ind));
			jl_buf_printf(en, " was %.2f %s, %+.2f from the baseline %.2f: %s (tolerance ± %.2f)%s.</li>\n",
				      r.value, ind->unit, r.gap, r.target->baseline, r.met == 1 ? "stable" : "not stable",
				      r.target->tolerance, r.suppressed ? " (small denominator: indicative only)" : "");
			continue;
		}
		if (!r.target || !r.target->has_value || !r.has_value || r.met < 0)
			continue;
		double ach = ind->direction == JL_DIR_LOWER ? (r.value > 0 ? r.target_value / r.value : 1)
							     : (r.target_value != 0 ? r.value / r.target_value : 0);
		verdict[r.met == 1 ? 0 : ach >= 0.9 ? 1 : 2]++;
		const char *unit = ind->unit;
		jl_buf_printf(zh, "<li class=\"st-%s\">", st_class[st]);
		html(zh, ind->name);
		jl_buf_printf(zh, "为 %.2f%s，%s目标（%s %.2f），差距 %+.2f%s。</li>\n", r.value, unit,
			      r.met == 1 ? "达到" : "未达到", kind_sign[r.target->kind], r.target_value, r.gap,
			      r.suppressed ? "（分母较小，仅供参考）" : "");
		jl_buf_printf(en, "<li class=\"st-%s\">", st_class[st]);
		html(en, name_en(ind));
		jl_buf_printf(en, " was %.2f %s, %s the target (%s %.2f) by %.2f%s.</li>\n", r.value, unit,
			      r.met == 1 ? "meeting" : "missing", kind_sign[r.target->kind], r.target_value, fabs(r.gap),
			      r.suppressed ? " (small denominator: indicative only)" : "");
	}
}

static void sub_table(const jl_cube_t *c, uint32_t node, jl_buf_t *b)
{
	const jl_region_node_t *nd = &c->reg->nodes[node];
	if (!nd->nchild)
		return;
	jl_buf_puts(b, "<h2>下级地区 · Sub-regions</h2><table class=\"sub\"><thead><tr><th>指标 Indicator</th>");
	for (uint32_t k = 0; k < nd->nchild; k++) {
		jl_buf_puts(b, "<th>");
		html(b, c->reg->nodes[nd->child0 + k].name);
		jl_buf_puts(b, "</th>");
	}
	jl_buf_puts(b, "</tr></thead><tbody>\n");
	for (uint32_t i = 0; i < c->cat->ninds; i++) {
		const jl_indicator_t *ind = &c->cat->inds[i];
		if (ind->method == JL_METHOD_AGGREGATE)
			continue;
		jl_buf_puts(b, "<tr><td>");
		html(b, ind->name);
		jl_buf_puts(b, "</td>");
		for (uint32_t k = 0; k < nd->nchild; k++) {
			jl_result_t r;
			jl_engine_result(c, i, nd->child0 + k, 0, -1, &r);
			jl_buf_printf(b, "<td class=\"n st-%s\">", st_class[status(ind, &r)]);
			num(b, r.has_value, r.value);
			jl_buf_puts(b, "</td>");
		}
		jl_buf_puts(b, "</tr>\n");
	}
	jl_buf_puts(b, "</tbody></table>\n");
}

static void jnum(jl_jw_t *w, const char *k, bool has, double v)
{
	char s[40];
	jl_jw_keyc(w, k);
	if (!has || !isfinite(v)) {
		jl_jw_null(w);
		return;
	}
	snprintf(s, sizeof s, "%.4f", v);
	jl_jw_num(w, jl_cstr(s));
}

/* The charts' data: per indicator with a target, sub-region values and the trend. */
static void chart_data(const jl_cube_t *const *cubes, size_t ncubes, uint32_t node, jl_jw_t *w)
{
	const jl_cube_t *c = cubes[ncubes - 1];
	const jl_region_node_t *nd = &c->reg->nodes[node];
	jl_jw_obj_begin(w);
	jl_jw_keyc(w, "region");
	jl_jw_strc(w, nd->code);
	jl_jw_keyc(w, "year");
	jl_jw_int(w, c->year);
	jl_jw_keyc(w, "indicators");
	jl_jw_arr_begin(w);
	for (uint32_t i = 0; i < c->cat->ninds; i++) {
		const jl_indicator_t *ind = &c->cat->inds[i];
		jl_result_t r;
		jl_engine_result(c, i, node, 0, -1, &r);
		if (!r.target || !r.has_value)
			continue;
		jl_jw_obj_begin(w);
		jl_jw_keyc(w, "id");
		jl_jw_strc(w, ind->id);
		jl_jw_keyc(w, "name");
		jl_jw_strc(w, ind->name);
		jl_jw_keyc(w, "nameEn");
		jl_jw_strc(w, name_en(ind));
		jl_jw_keyc(w, "unit");
		jl_jw_strc(w, ind->unit);
		jl_jw_keyc(w, "sub");
		jl_jw_arr_begin(w);
		for (uint32_t k = 0; k < nd->nchild; k++) {
			jl_result_t rs;
			jl_engine_result(c, i, nd->child0 + k, 0, -1, &rs);
			jl_jw_obj_begin(w);
			jl_jw_keyc(w, "name");
			jl_jw_strc(w, c->reg->nodes[nd->child0 + k].name);
			jnum(w, "value", rs.has_value, rs.value);
			jl_jw_keyc(w, "status");
			jl_jw_strc(w, st_class[status(ind, &rs)]);
			jl_jw_obj_end(w);
		}
		jl_jw_arr_end(w);
		jl_jw_keyc(w, "trend");
		jl_jw_arr_begin(w);
		for (size_t y = 0; y < ncubes; y++) {
			if (!cubes[y])
				continue;
			jl_result_t ry;
			jl_engine_result(cubes[y], i, node, 0, -1, &ry);
			jl_jw_obj_begin(w);
			jl_jw_keyc(w, "year");
			jl_jw_int(w, cubes[y]->year);
			jnum(w, "value", ry.has_value, ry.value);
			double line = 0;
			bool has_line = jl_engine_target_line(&ry, &line);
			jnum(w, "target", has_line, line);
			jl_jw_obj_end(w);
		}
		jl_jw_arr_end(w);
		jl_jw_obj_end(w);
	}
	jl_jw_arr_end(w);
	jl_jw_obj_end(w);
}

/* Inline text inside <script>/<style>: "</" would end the element early. */
static void inline_text(jl_buf_t *b, jl_str_t s)
{
	size_t from = 0;
	for (size_t i = 0; i + 1 < s.n; i++) {
		if (s.p[i] == '<' && s.p[i + 1] == '/') {
			jl_buf_append(b, s.p + from, i - from);
			jl_buf_puts(b, "<\\/");
			from = i + 2;
			i++;
		}
	}
	jl_buf_append(b, s.p + from, s.n - from);
}

jl_rc jl_report_html(const jl_cube_t *const *cubes, size_t ncubes, uint32_t node, jl_buf_t *b)
{
	const jl_cube_t *c = cubes[ncubes - 1];
	const jl_region_node_t *nd = &c->reg->nodes[node];
	jl_buf_puts(b, "<!doctype html>\n<html lang=\"zh\"><head><meta charset=\"utf-8\"><title>");
	html(b, nd->name);
	jl_buf_printf(b, " %d 年度监测报告 · Annual monitoring report</title>\n<style>", c->year);
	jl_asset_t css;
	if (jl_web_asset_find(JL_STR("/console/console.css"), &css) == JL_OK)
		inline_text(b, css.body);
	jl_buf_puts(b, ".report{max-width:1100px;margin:0 auto;padding:16px;background:#fff}"
		       ".charts{display:grid;grid-template-columns:1fr 1fr;gap:8px}.charts>div{height:300px}"
		       "table.sub{font-size:11px}ul.summary li{margin:2px 0}</style></head>\n<body><div class=\"report\">\n"
		       "<h1>");
	html(b, nd->name);
	jl_buf_printf(b, "（%s）%d 年度健康规划监测报告</h1>\n<p>Annual health-plan monitoring report, %d · ", nd->code,
		      c->year, c->year);
	jl_buf_printf(b, "catalogue %s · divisions %s</p>\n", c->cat->version, c->reg->version);

	jl_buf_t zh, en;
	jl_buf_init(&zh, JL_MEM_MISC, 0);
	jl_buf_init(&en, JL_MEM_MISC, 0);
	int counts[6] = {0}, v[3] = {0};
	sentences(c, node, &zh, &en, counts, v);
	int with = v[0] + v[1] + v[2];
	jl_buf_puts(b, "<h2>摘要 · Summary</h2>\n<p id=\"summary-zh\">");
	html(b, nd->name);
	jl_buf_printf(b, "%d 年共监测 %u 项指标，其中有目标且有数值的 %d 项：达标 %d 项，未达标 %d 项（其中接近目标 %d 项）；"
			 "%d 项分母较小，%d 项无数据。</p>\n<ul class=\"summary\" lang=\"zh\">",
		      c->year, c->cat->ninds, with, v[0], v[1] + v[2], v[1], counts[ST_SMALL],
		      counts[ST_NODATA]);
	jl_buf_append(b, zh.p, zh.n);
	jl_buf_printf(b, "</ul>\n<p id=\"summary-en\" lang=\"en\">In %d, %u indicators were monitored; of the %d with a "
			 "target and a value, %d met it and %d missed it (%d of them near it); %d rest on small numbers "
			 "and %d have no data.</p>\n<ul class=\"summary\" lang=\"en\">",
		      c->year, c->cat->ninds, with, v[0], v[1] + v[2], v[1], counts[ST_SMALL],
		      counts[ST_NODATA]);
	jl_buf_append(b, en.p, en.n);
	jl_buf_puts(b, "</ul>\n<h2>指标与目标 · Indicators against targets</h2>\n");
	jl_buf_dispose(&zh);
	jl_buf_dispose(&en);
	main_table(c, node, b);
	sub_table(c, node, b);
	jl_buf_puts(b, "<h2>地图与趋势 · Maps and trends</h2><div id=\"charts\" class=\"charts\"></div>\n"
		       "<script type=\"application/json\" id=\"jl-report-data\">");
	jl_buf_t data;
	jl_buf_init(&data, JL_MEM_MISC, 0);
	jl_jw_t w;
	jl_jw_init(&w, &data, 0);
	chart_data(cubes, ncubes, node, &w);
	inline_text(b, jl_buf_str(&data));
	jl_buf_dispose(&data);
	jl_buf_puts(b, "</script>\n<script type=\"application/json\" id=\"jl-report-geo\">");
	/* County boundaries for a prefecture; lower levels are drawn as bars. */
	char path[64];
	jl_asset_t geo;
	snprintf(path, sizeof path, "/console/geo/%s.json", nd->code);
	if (nd->level == JL_REG_PREFECTURE && jl_web_asset_find(jl_cstr(path), &geo) == JL_OK)
		inline_text(b, geo.body);
	else
		jl_buf_puts(b, "null");
	jl_buf_puts(b, "</script>\n<script>");
	jl_asset_t js;
	if (jl_web_asset_find(JL_STR("/console/report.js"), &js) == JL_OK)
		inline_text(b, js.body);
	jl_buf_puts(b, "</script>\n</div></body></html>\n");
	return jl_buf_status(b);
}
