/*
 * win_spawn: checks what `exec` will rely on under Wine: uv_spawn (anonymous
 * pipes + CreateProcess, no shell) runs each argument vector given on the
 * command line, separated by "--", and prints the child's stdout, stderr
 * and exit status as libuv reports them.
 *
 * usage: win_spawn -- cmd /c echo hello -- cmd /c exit 3
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

struct run {
	uv_process_t proc;
	uv_pipe_t out;
	uv_pipe_t err;
	char text[2][4096];
	size_t len[2];
	int64_t status;
	int signal;
	int open; /* handles not yet closed */
};

static void
on_close(uv_handle_t *h)
{
	struct run *r = h->data;

	r->open--;
}

static void
on_alloc(uv_handle_t *h, size_t size, uv_buf_t *b)
{
	(void)h;
	b->base = malloc(size);
	b->len = b->base == NULL ? 0 : size;
}

static void
on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct run *r = s->data;
	int i = s == (uv_stream_t *)&r->out ? 0 : 1;

	if (n > 0 && r->len[i] + (size_t)n < sizeof(r->text[i])) {
		memcpy(r->text[i] + r->len[i], b->base, (size_t)n);
		r->len[i] += (size_t)n;
	} else if (n < 0)
		uv_close((uv_handle_t *)s, on_close);
	free(b->base);
}

static void
on_exit(uv_process_t *p, int64_t status, int signal)
{
	struct run *r = p->data;

	r->status = status;
	r->signal = signal;
	uv_close((uv_handle_t *)p, on_close);
}

/* Runs one argument vector to its end and prints what came back. */
static int
run(char **args)
{
	uv_loop_t *loop = uv_default_loop();
	uv_process_options_t o;
	uv_stdio_container_t io[3];
	struct run r;
	size_t i;
	int rc;

	memset(&r, 0, sizeof(r));
	uv_pipe_init(loop, &r.out, 0);
	uv_pipe_init(loop, &r.err, 0);
	r.proc.data = r.out.data = r.err.data = &r;
	io[0].flags = UV_IGNORE;
	io[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	io[1].data.stream = (uv_stream_t *)&r.out;
	io[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	io[2].data.stream = (uv_stream_t *)&r.err;
	memset(&o, 0, sizeof(o));
	o.file = args[0];
	o.args = args;
	o.exit_cb = on_exit;
	o.stdio = io;
	o.stdio_count = 3;
	o.flags = UV_PROCESS_WINDOWS_HIDE;
	rc = uv_spawn(loop, &r.proc, &o);
	printf("spawn");
	for (i = 0; args[i] != NULL; i++)
		printf(" [%s]", args[i]);
	if (rc != 0) {
		printf(": %s\n", uv_strerror(rc));
		uv_close((uv_handle_t *)&r.out, NULL);
		uv_close((uv_handle_t *)&r.err, NULL);
		uv_run(loop, UV_RUN_DEFAULT);
		return 1;
	}
	r.open = 3;
	uv_read_start((uv_stream_t *)&r.out, on_alloc, on_read);
	uv_read_start((uv_stream_t *)&r.err, on_alloc, on_read);
	uv_run(loop, UV_RUN_DEFAULT);
	printf(": exit status %lld, signal %d, stdout %zu bytes \"", (long long)r.status,
	    r.signal, r.len[0]);
	for (i = 0; i < r.len[0]; i++) {
		if (r.text[0][i] == '\r')
			printf("\\r");
		else if (r.text[0][i] == '\n')
			printf("\\n");
		else
			putchar(r.text[0][i]);
	}
	printf("\", stderr %zu bytes\n", r.len[1]);
	return 0;
}

int
main(int argc, char **argv)
{
	int i, start;

	for (i = 1; i < argc; i = start) {
		if (strcmp(argv[i], "--") != 0)
			return 2;
		start = ++i;
		while (start < argc && strcmp(argv[start], "--") != 0)
			start++;
		argv[start < argc ? start : argc] = NULL;
		run(argv + i);
		if (start < argc)
			argv[start] = "--";
	}
	fflush(stdout);
	return 0;
}
