/*
 * The `--check` dump of a valid plan (docs/plan-format.md, "Dump"), driven by the record table.
 * test/support/wire-model.ts prints the same text from src/kernel/frames.ts.
 */
#include "helper.h"

/* "…": bytes 0x20–0x7e as themselves except \" and \\, every other byte \xHH. */
static void quoted(struct out *o, const struct str *s)
{
	static const char hex[] = "0123456789abcdef";
	out_str(o, "\"");
	for (uint32_t i = 0; i < s->len; i++) {
		unsigned char c = (unsigned char)s->s[i];
		if (c == '"' || c == '\\') {
			char e[2] = {'\\', (char)c};
			out_bytes(o, e, 2);
		} else if (c >= 0x20 && c <= 0x7e) {
			out_bytes(o, &s->s[i], 1);
		} else {
			char e[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
			out_bytes(o, e, 4);
		}
	}
	out_str(o, "\"");
}

static void value(struct out *o, const struct field_spec *f, const struct step *st)
{
	const void *at = (const char *)st + f->offset;
	uint32_t v = f->kind == K_U64 || f->kind == K_STR || f->kind == K_LIST ? 0 : *(const uint32_t *)at;
	const char *sep = "";

	switch (f->kind) {
	case K_U64:
		out_u64(o, *(const uint64_t *)at);
		return;
	case K_BASE:
	case K_OPT_SLOT:
		if (v == SLOT_NONE) {
			out_str(o, f->kind == K_BASE ? "cwd" : "none");
			return;
		}
		out_u64(o, v);
		return;
	case K_ENUM:
		out_str(o, f->enum_names[v]); /* validated: v names a value */
		return;
	case K_MASK:
		for (unsigned i = 0; i < 8; i++)
			if (v & NAMESPACE_BITS[i].bit) {
				out_str(o, sep);
				out_str(o, NAMESPACE_BITS[i].name);
				sep = "+";
			}
		return;
	case K_STR:
		quoted(o, at);
		return;
	case K_LIST: {
		const struct list *l = at;
		out_str(o, "[");
		for (uint32_t i = 0; i < l->n; i++) {
			struct str s = {l->v[i], 0};
			while (s.s[s.len] != '\0')
				s.len++;
			if (i > 0)
				out_str(o, ",");
			quoted(o, &s);
		}
		out_str(o, "]");
		return;
	}
	default:
		out_u64(o, v);
		return;
	}
}

int dump_plan(int fd, const struct plan *plan)
{
	struct out o;

	out_init(&o, fd);
	out_str(&o, "nscp 2\n");
	for (uint32_t n = 0; n < plan->nsteps; n++) {
		const struct step *st = &plan->steps[n];
		const struct record_spec *spec = record_spec(st->type);

		out_str(&o, "step ");
		out_u64(&o, n);
		out_str(&o, " ");
		out_str(&o, spec->name);
		for (unsigned i = 0; i < sizeof spec->flags / sizeof spec->flags[0]; i++)
			if (spec->flags[i] != NULL && (st->flags & (1u << i))) {
				out_str(&o, " ");
				out_str(&o, spec->flags[i]);
			}
		for (unsigned i = 0; i < spec->nfields; i++) {
			out_str(&o, " ");
			out_str(&o, spec->fields[i].name);
			out_str(&o, "=");
			value(&o, &spec->fields[i], st);
		}
		out_str(&o, " texts=[");
		for (unsigned i = 0; i < spec->ntexts; i++) {
			if (i > 0)
				out_str(&o, ",");
			quoted(&o, &st->texts[i]);
		}
		out_str(&o, "] hint=");
		quoted(&o, &st->hint);
		out_str(&o, "\n");
	}
	out_str(&o, "end\n");
	return out_flush(&o);
}
