/*
 * PNG writing (see png.h): signature, IHDR, the image as IDAT chunks of at
 * most PNG_IDAT bytes produced by one deflate stream, IEND. Chunk CRCs come
 * from zlib's crc32. Rows are filtered with "sub" when the sum of its
 * residues is smaller than the raw bytes' (the usual heuristic), else
 * left as they are.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "qh/compat.h"
#include "qh/png.h"
#include "qh/err.h"

#define PNG_IDAT (64 * 1024)

static const uint8_t signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

/* Appends one chunk: length, type, data, CRC over type and data. */
static int
put_chunk(struct qh_buf *out, const char *type, const uint8_t *p, size_t len)
{
	uLong crc = crc32(0, (const Bytef *)type, 4);

	if (len > 0)
		crc = crc32(crc, p, (uInt)len);
	if (qh_buf_room(out) < 12 + len)
		return QH_ERR_TOO_LARGE;
	(void)qh_buf_put_u32(out, (uint32_t)len);
	(void)qh_buf_put(out, type, 4);
	(void)qh_buf_put(out, p, len);
	return qh_buf_put_u32(out, (uint32_t)crc);
}

/* One row as filter byte + RGB into row (1 + 3 * w bytes). */
static void
filter_row(uint8_t *row, uint8_t *sub, const uint32_t *px, int w)
{
	unsigned long cost_none = 0, cost_sub = 0;
	uint8_t *rgb = row + 1;
	int i;

	for (i = 0; i < w; i++) {
		rgb[3 * i] = (uint8_t)(px[i] >> 16);
		rgb[3 * i + 1] = (uint8_t)(px[i] >> 8);
		rgb[3 * i + 2] = (uint8_t)px[i];
	}
	for (i = 0; i < 3 * w; i++) {
		sub[1 + i] = (uint8_t)(rgb[i] - (i >= 3 ? rgb[i - 3] : 0));
		cost_none += rgb[i] < 128 ? rgb[i] : 256 - rgb[i];
		cost_sub += sub[1 + i] < 128 ? sub[1 + i] : 256 - sub[1 + i];
	}
	row[0] = 0;
	sub[0] = 1;
	if (cost_sub < cost_none)
		memcpy(row, sub, 1 + 3 * (size_t)w);
}

/* Deflates len bytes (flush: Z_NO_FLUSH or Z_FINISH), emitting full IDATs. */
static int
deflate_rows(struct qh_buf *out, z_stream *zs, uint8_t *idat, const uint8_t *p,
    size_t len, int flush)
{
	int zr, r;

	zs->next_in = (Bytef *)(uintptr_t)p;
	zs->avail_in = (uInt)len;
	do {
		zr = deflate(zs, flush);
		if (zr == Z_STREAM_ERROR)
			return QH_ERR_INTERNAL;
		if (zs->avail_out == 0 || (flush == Z_FINISH && zr == Z_STREAM_END)) {
			if ((r = put_chunk(out, "IDAT", idat,
				 PNG_IDAT - zs->avail_out)) != 0)
				return r;
			zs->next_out = idat;
			zs->avail_out = PNG_IDAT;
		}
	} while (zs->avail_in > 0 || (flush == Z_FINISH && zr != Z_STREAM_END));
	return 0;
}

int
png_write(struct qh_buf *out, const uint32_t *px, int w, int h, size_t stride)
{
	uint8_t ihdr[13], *row = NULL, *sub = NULL, *idat = NULL;
	z_stream zs;
	int y, r = 0;

	if (w <= 0 || h <= 0 || w > PNG_SIZE_MAX || h > PNG_SIZE_MAX)
		return QH_ERR_ARG;
	memset(&zs, 0, sizeof(zs));
	if (deflateInit(&zs, 6) != Z_OK)
		return QH_ERR_NOMEM;
	row = malloc(1 + 3 * (size_t)w);
	sub = malloc(1 + 3 * (size_t)w);
	idat = malloc(PNG_IDAT);
	if (row == NULL || sub == NULL || idat == NULL) {
		r = QH_ERR_NOMEM;
		goto out;
	}
	ihdr[0] = (uint8_t)(w >> 24);
	ihdr[1] = (uint8_t)(w >> 16);
	ihdr[2] = (uint8_t)(w >> 8);
	ihdr[3] = (uint8_t)w;
	ihdr[4] = (uint8_t)(h >> 24);
	ihdr[5] = (uint8_t)(h >> 16);
	ihdr[6] = (uint8_t)(h >> 8);
	ihdr[7] = (uint8_t)h;
	ihdr[8] = 8;			    /* bits per channel */
	ihdr[9] = 2;			    /* RGB */
	ihdr[10] = ihdr[11] = ihdr[12] = 0; /* deflate, adaptive filters, no interlace */
	if ((r = qh_buf_put(out, signature, sizeof(signature))) != 0 ||
	    (r = put_chunk(out, "IHDR", ihdr, sizeof(ihdr))) != 0)
		goto out;
	zs.next_out = idat;
	zs.avail_out = PNG_IDAT;
	for (y = 0; y < h && r == 0; y++) {
		filter_row(row, sub, px + (size_t)y * stride, w);
		r = deflate_rows(out, &zs, idat, row, 1 + 3 * (size_t)w, Z_NO_FLUSH);
	}
	if (r == 0 && (r = deflate_rows(out, &zs, idat, NULL, 0, Z_FINISH)) == 0)
		r = put_chunk(out, "IEND", NULL, 0);
out:
	deflateEnd(&zs);
	free(row);
	free(sub);
	free(idat);
	return r;
}

int
png_write_file(const char *path, const uint32_t *px, int w, int h, size_t stride)
{
	struct qh_buf b;
	size_t max = 1024 + (size_t)w * h * 4 + (size_t)h * 64, off;
	ssize_t n = 0;
	int fd, r;

	qh_buf_init(&b, max);
	if ((r = png_write(&b, px, w, h, stride)) != 0)
		goto out;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) == -1) {
		r = QH_ERR_SYSTEM;
		goto out;
	}
	for (off = 0; off < qh_buf_len(&b); off += (size_t)n)
		if ((n = write(fd, qh_buf_ptr(&b) + off, qh_buf_len(&b) - off)) <= 0) {
			r = QH_ERR_SYSTEM;
			break;
		}
	if (close(fd) == -1)
		r = QH_ERR_SYSTEM;
out:
	qh_buf_release(&b);
	return r;
}
