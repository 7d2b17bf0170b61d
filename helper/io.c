/*
 * Whole reads and writes, and reading one plan frame from a stream (`--check` reads stdin, `run`
 * reads the planner's socket). The texts of every rejection come from decode.c: what was read so
 * far is handed to decode_plan_frame, which sees exactly what `--check` would see at EOF.
 */
#include <errno.h>
#include <unistd.h>

#include "helper.h"

int read_full(int fd, void *buf, size_t want, size_t *got)
{
	size_t n = 0;
	while (n < want) {
		ssize_t r = read(fd, (char *)buf + n, want - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			*got = n;
			return errno;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*got = n;
	return 0;
}

int write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return errno;
		if (w == 0)
			return EIO;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int read_plan_frame(int fd, uint8_t *frame, size_t have, struct plan *plan, struct reason *why)
{
	uint32_t body_len;
	size_t got;
	int err;

	/* The header, and nothing more until it has passed: a body length is checked before a
	 * single body byte is read. */
	if (have < HEADER_LEN) {
		if ((err = read_full(fd, frame + have, HEADER_LEN - have, &got)) != 0)
			return err;
		have += got;
	}
	if (have < HEADER_LEN || check_header(frame, "NSCP", PLAN_BODY_MAX, &body_len, why) != 0)
		return decode_plan_frame(frame, have, plan, why);
	/* Exactly the body, then one byte more to see EOF: never "until the writer stops". */
	if ((err = read_full(fd, frame + HEADER_LEN, body_len, &got)) != 0)
		return err;
	have += got;
	if (got == body_len) {
		if ((err = read_full(fd, frame + have, 1, &got)) != 0)
			return err;
		have += got;
	}
	return decode_plan_frame(frame, have, plan, why);
}
