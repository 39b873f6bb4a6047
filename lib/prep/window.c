/*
 * window.c - fixed-length windows over one split's rows, for recurrent
 * models.  Windows are cut per split, so none crosses a split boundary.
 *
 * Window w covers positions first .. first+length-1 of the split's row list,
 * first = w * stride, and its target is position first+length-1+horizon.
 * The last window's target must exist: first+length-1+horizon <= n-1, hence
 * count = floor((n - length - horizon) / stride) + 1 when n >= length +
 * horizon, else 0.  The comparison is written so that nothing overflows,
 * and w < count implies w * stride <= n - length - horizon < n.
 */
#include "prep/prep.h"

size_t maas_window_count(size_t n, size_t length, size_t horizon, size_t stride)
{
	if (!length || !stride || length > n || horizon > n - length)
		return 0;
	return (n - length - horizon) / stride + 1;
}

size_t maas_window_first(size_t w, size_t stride)
{
	return w * stride;
}
