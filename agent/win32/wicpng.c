/*
 * plat_png_write_file on Windows: the system's PNG encoder (Windows
 * Imaging Component): a WIC stream on the file, the PNG container's
 * encoder, one frame of 24-bit BGR (converted from our XRGB rows) at
 * 96 dpi. The file lies in the configuration directory, whose ACL keeps
 * it private.
 */
#define COBJMACROS
#include <stdlib.h>
#include <string.h>

#include <windows.h>
#include <wincodec.h>

#include "qh/err.h"
#include "platform.h"
#include "win32/win.h"

/* Writes the frame's pixels, one row at a time as BGR. */
static HRESULT
frame_pixels(IWICBitmapFrameEncode *frame, const uint32_t *px, int w, int h,
    size_t stride)
{
	UINT row_bytes = (UINT)w * 3;
	uint8_t *row;
	uint32_t v;
	HRESULT hr = S_OK;
	int x, y;

	if ((row = malloc(row_bytes)) == NULL)
		return E_OUTOFMEMORY;
	for (y = 0; y < h && SUCCEEDED(hr); y++) {
		for (x = 0; x < w; x++) {
			v = px[(size_t)y * stride + (size_t)x];
			row[x * 3] = (uint8_t)v;
			row[x * 3 + 1] = (uint8_t)(v >> 8);
			row[x * 3 + 2] = (uint8_t)(v >> 16);
		}
		hr = IWICBitmapFrameEncode_WritePixels(frame, 1, row_bytes, row_bytes,
		    row);
	}
	free(row);
	return hr;
}

/* The encoder's work on a stream already on the file. */
static HRESULT
encode(IWICImagingFactory *f, IWICStream *stream, const uint32_t *px, int w, int h,
    size_t stride)
{
	IWICBitmapEncoder *enc = NULL;
	IWICBitmapFrameEncode *frame = NULL;
	IPropertyBag2 *props = NULL;
	WICPixelFormatGUID fmt = GUID_WICPixelFormat24bppBGR;
	HRESULT hr;

	hr = IWICImagingFactory_CreateEncoder(f, &GUID_ContainerFormatPng, NULL, &enc);
	if (SUCCEEDED(hr))
		hr = IWICBitmapEncoder_Initialize(enc, (IStream *)stream,
		    WICBitmapEncoderNoCache);
	if (SUCCEEDED(hr))
		hr = IWICBitmapEncoder_CreateNewFrame(enc, &frame, &props);
	if (SUCCEEDED(hr))
		hr = IWICBitmapFrameEncode_Initialize(frame, props);
	if (SUCCEEDED(hr))
		hr = IWICBitmapFrameEncode_SetSize(frame, (UINT)w, (UINT)h);
	if (SUCCEEDED(hr))
		hr = IWICBitmapFrameEncode_SetResolution(frame, 96.0, 96.0);
	if (SUCCEEDED(hr))
		hr = IWICBitmapFrameEncode_SetPixelFormat(frame, &fmt);
	/* The encoder may offer another format: then ours is not written. */
	if (SUCCEEDED(hr) && !IsEqualGUID(&fmt, &GUID_WICPixelFormat24bppBGR))
		hr = WINCODEC_ERR_UNSUPPORTEDPIXELFORMAT;
	if (SUCCEEDED(hr))
		hr = frame_pixels(frame, px, w, h, stride);
	if (SUCCEEDED(hr))
		hr = IWICBitmapFrameEncode_Commit(frame);
	if (SUCCEEDED(hr))
		hr = IWICBitmapEncoder_Commit(enc);
	if (props != NULL)
		IPropertyBag2_Release(props);
	if (frame != NULL)
		IWICBitmapFrameEncode_Release(frame);
	if (enc != NULL)
		IWICBitmapEncoder_Release(enc);
	return hr;
}

int
plat_png_write_file(const char *path, const uint32_t *px, int w, int h, size_t stride)
{
	IWICImagingFactory *f = NULL;
	IWICStream *stream = NULL;
	wchar_t *wpath;
	HRESULT hr, init;

	if (w <= 0 || h <= 0 || w > 65535 || h > 65535)
		return QH_ERR_ARG;
	if ((wpath = win_wide(path)) == NULL)
		return QH_ERR_ARG;
	init = CoInitializeEx(NULL, COINIT_MULTITHREADED);
	hr = CoCreateInstance(&CLSID_WICImagingFactory, NULL, CLSCTX_INPROC_SERVER,
	    &IID_IWICImagingFactory, (void **)&f);
	if (SUCCEEDED(hr))
		hr = IWICImagingFactory_CreateStream(f, &stream);
	if (SUCCEEDED(hr))
		hr = IWICStream_InitializeFromFilename(stream, wpath, GENERIC_WRITE);
	if (SUCCEEDED(hr))
		hr = encode(f, stream, px, w, h, stride);
	if (stream != NULL)
		IWICStream_Release(stream);
	if (f != NULL)
		IWICImagingFactory_Release(f);
	if (SUCCEEDED(init))
		CoUninitialize();
	if (FAILED(hr))
		(void)DeleteFileW(wpath); /* no half a picture */
	free(wpath);
	return SUCCEEDED(hr) ? 0 : QH_ERR_SYSTEM;
}
