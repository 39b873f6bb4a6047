/* date.c - ISO-like dates and times to seconds since the epoch (UTC). */
#include "prep/prep.h"

static int digits(const char *s, size_t len, size_t *i, int n, int *out)
{
	int v = 0;
	for (int k = 0; k < n; k++) {
		if (*i >= len || s[*i] < '0' || s[*i] > '9')
			return 0;
		v = v * 10 + (s[(*i)++] - '0');
	}
	*out = v;
	return 1;
}

/* days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm) */
long maas_days_from_civil(long y, int m, int d)
{
	y -= m <= 2;
	long era = (y >= 0 ? y : y - 399) / 400;
	long yoe = y - era * 400;
	long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int maas_parse_date(const char *s, size_t len, double *t, int *has_time)
{
	size_t i = 0;
	int y, mo, d, h = 0, mi = 0, sec = 0;
	double frac = 0;
	long tz = 0;
	char sep;

	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (!digits(s, len, &i, 4, &y) || i >= len)
		return 0;
	sep = s[i];
	if (sep != '-' && sep != '/')
		return 0;
	i++;
	if (!digits(s, len, &i, 2, &mo) || i >= len || s[i++] != sep || !digits(s, len, &i, 2, &d))
		return 0;
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1])
		return 0;
	if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 0;
	*has_time = 0;
	if (i < len) {
		if (s[i] != 'T' && s[i] != ' ')
			return 0;
		i++;
		if (!digits(s, len, &i, 2, &h) || i >= len || s[i++] != ':' || !digits(s, len, &i, 2, &mi))
			return 0;
		if (i < len && s[i] == ':') {
			i++;
			if (!digits(s, len, &i, 2, &sec))
				return 0;
			if (i < len && (s[i] == '.' || s[i] == ',')) {
				double scale = 0.1;
				i++;
				if (i >= len || s[i] < '0' || s[i] > '9')
					return 0;
				while (i < len && s[i] >= '0' && s[i] <= '9') {
					frac += (s[i++] - '0') * scale;
					scale /= 10;
				}
			}
		}
		if (h > 23 || mi > 59 || sec > 60)
			return 0;
		if (i < len && s[i] == 'Z') {
			i++;
		} else if (i < len && (s[i] == '+' || s[i] == '-')) {
			int sign = s[i++] == '-' ? -1 : 1, th, tm = 0;
			if (!digits(s, len, &i, 2, &th))
				return 0;
			if (i < len && s[i] == ':')
				i++;
			if (i < len && !digits(s, len, &i, 2, &tm))
				return 0;
			if (th > 23 || tm > 59)
				return 0;
			tz = sign * (th * 3600L + tm * 60L);
		}
		*has_time = 1;
	}
	if (i != len)
		return 0;
	*t = (double)maas_days_from_civil(y, mo, d) * 86400.0 + h * 3600.0 + mi * 60.0 + sec + frac - (double)tz;
	return 1;
}
