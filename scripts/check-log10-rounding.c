/* Checks, for every float32 x in [1e-10f, 1], that rounding the C library's double log10(x) to
 * float32 gives the correctly rounded float32 log10(x), the value `density export --format saelens`
 * writes. The reference is long double (64-bit significand) log10l, and each x also reports how far
 * the exact value lies from the nearest float32 rounding boundary (midpoint): when that distance is
 * well above both the double's and the long double's error, both roundings are certain.
 *
 *   cc -O2 -o /tmp/check-log10 scripts/check-log10-rounding.c -lm && /tmp/check-log10
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int main(void) {
    float x = 1e-10f;
    uint64_t checked = 0, differ = 0;
    long double closest = 1;   /* smallest |exact - midpoint| / ulp(float result) seen */
    float closest_x = 0;
    while (x <= 1.0f) {
        float viaDouble = (float)log10((double)x);
        long double precise = log10l((long double)x);
        float reference = (float)precise;
        if (viaDouble != reference) {
            if (differ < 10) printf("differs at x = %a: via double %a, reference %a\n", x, viaDouble, reference);
            differ++;
        }
        if (reference != 0) {
            float up = nextafterf(reference, INFINITY), down = nextafterf(reference, -INFINITY);
            long double ulp = ((long double)up - (long double)down) / 2;
            long double toUp = fabsl(((long double)reference + (long double)up) / 2 - precise);
            long double toDown = fabsl(((long double)reference + (long double)down) / 2 - precise);
            long double distance = (toUp < toDown ? toUp : toDown) / ulp;
            if (distance < closest) { closest = distance; closest_x = x; }
        }
        checked++;
        x = nextafterf(x, INFINITY);
    }
    printf("checked %llu float32 values in [1e-10, 1]: %llu differ; closest approach to a rounding "
           "boundary: %Lg ulp (float32) at x = %a\n", (unsigned long long)checked,
           (unsigned long long)differ, closest, closest_x);
    return differ == 0 ? 0 : 1;
}
