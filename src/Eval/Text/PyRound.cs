using System.Globalization;
using System.Numerics;

namespace MultiLora.Eval.Text;

/// <summary>
/// Python's round(x, ndigits) for floats: the exact binary value is rounded half-to-even at the decimal digit
/// (so round(2.675, 2) is 2.67, because 2.675 is stored as 2.67499999...), then read back as the nearest double.
/// Math.Round scales by a power of ten first and can land on the other side of a tie.
/// </summary>
public static class PyRound
{
    public static double Round(double x, int ndigits)
    {
        if (double.IsNaN(x) || double.IsInfinity(x) || x == 0) return x;
        if (ndigits < 0) throw new ArgumentOutOfRangeException(nameof(ndigits), "only ndigits >= 0 is needed");
        var bits = BitConverter.DoubleToInt64Bits(x);
        var negative = bits < 0;
        var exponent = (int)((bits >> 52) & 0x7FF);
        var mantissa = bits & 0xFFFFFFFFFFFFFL;
        if (exponent == 0) exponent = 1; else mantissa |= 1L << 52;
        exponent -= 1075;   // x = mantissa * 2^exponent
        var scaled = new BigInteger(mantissa) * BigInteger.Pow(10, ndigits);
        BigInteger q;
        if (exponent >= 0) q = scaled << exponent;
        else
        {
            var den = BigInteger.One << -exponent;
            q = BigInteger.DivRem(scaled, den, out var rem);
            var twice = rem * 2;
            if (twice > den || (twice == den && !q.IsEven)) q += 1;
        }
        var text = q.ToString(CultureInfo.InvariantCulture) + "e-" + ndigits.ToString(CultureInfo.InvariantCulture);
        var result = double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
        return negative ? -result : result;
    }
}
