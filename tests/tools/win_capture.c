/*
 * win_capture: the screen capture the desktop feature will use, to compare
 * under Wine with what X shows: GetDC(NULL) + BitBlt into a 32-bit
 * top-down DIB section, written as a binary PPM.
 *
 * usage: win_capture OUT.ppm
 */
#include <windows.h>

#include <stdio.h>
#include <string.h>

int
main(int argc, char **argv)
{
	BITMAPINFO bi;
	HDC screen, mem;
	HBITMAP dib;
	unsigned char *px, rgb[3];
	FILE *f;
	int w, h, x, y;

	if (argc != 2)
		return 2;
	SetProcessDPIAware();
	w = GetSystemMetrics(SM_CXSCREEN);
	h = GetSystemMetrics(SM_CYSCREEN);
	screen = GetDC(NULL);
	mem = CreateCompatibleDC(screen);
	memset(&bi, 0, sizeof(bi));
	bi.bmiHeader.biSize = sizeof(bi.bmiHeader);
	bi.bmiHeader.biWidth = w;
	bi.bmiHeader.biHeight = -h; /* top-down */
	bi.bmiHeader.biPlanes = 1;
	bi.bmiHeader.biBitCount = 32;
	bi.bmiHeader.biCompression = BI_RGB;
	dib = CreateDIBSection(screen, &bi, DIB_RGB_COLORS, (void **)&px, NULL, 0);
	if (dib == NULL || px == NULL)
		return 1;
	SelectObject(mem, dib);
	if (!BitBlt(mem, 0, 0, w, h, screen, 0, 0, SRCCOPY | CAPTUREBLT)) {
		printf("BitBlt: error %lu\n", (unsigned long)GetLastError());
		return 1;
	}
	GdiFlush();
	if ((f = fopen(argv[1], "wb")) == NULL)
		return 1;
	fprintf(f, "P6\n%d %d\n255\n", w, h);
	for (y = 0; y < h; y++)
		for (x = 0; x < w; x++) {
			unsigned char *p = px + ((size_t)y * w + x) * 4;
			rgb[0] = p[2]; /* BGRX in memory */
			rgb[1] = p[1];
			rgb[2] = p[0];
			fwrite(rgb, 1, 3, f);
		}
	fclose(f);
	printf("captured %dx%d\n", w, h);
	return 0;
}
