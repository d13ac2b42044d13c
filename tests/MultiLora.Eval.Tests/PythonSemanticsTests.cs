using MultiLora.Eval.Text;

namespace MultiLora.Eval.Tests;

/// <summary>
/// PyStr, PyFloat and PyRound give CPython 3.11's results (the expected values were printed by python3 for these
/// inputs); the reference scorers are built on them.
/// </summary>
public class PythonSemanticsTests
{
    [Theory]
    [InlineData("ΑΣ", "ας")]                 // word-final capital sigma -> final sigma
    [InlineData("Σ", "σ")]                   // no cased letter before it: not final
    [InlineData("ΑΣ Α", "ας α")]
    [InlineData("ΑΣΑ", "ασα")]
    [InlineData("Α'Σ", "α'ς")]               // the apostrophe is case-ignorable: skipped
    [InlineData("1Σ", "1σ")]
    [InlineData("ΑΣ\u0301", "ας\u0301")]     // a combining mark after it is skipped too
    [InlineData("A\u00adΣ", "a\u00adς")]     // soft hyphen: case-ignorable
    [InlineData("İ", "i\u0307")]             // full case mapping: two code points
    [InlineData("ǅ", "ǆ")]
    [InlineData("ẞ", "ß")]
    [InlineData("\U00010400", "\U00010428")] // outside the BMP
    public void Lower_IsPythonsStrLower(string s, string expected) => Assert.Equal(expected, PyStr.Lower(s));

    [Fact]
    public void SplitAndStrip_UsePythonsWhitespace()
    {
        // \x1c and U+3000 are whitespace to Python, the zero-width space is not; .NET's char.IsWhiteSpace disagrees on \x1c.
        Assert.Equal(["a", "b", "c\u200bd"], PyStr.Split("a\u001cb\u3000c\u200bd"));
        Assert.Equal("x", PyStr.Strip(" \u001f x \u0085"));
        Assert.Equal(["x"], PyStr.Split(" \u001f x \u0085"));
        Assert.Equal(2, PyStr.Len("a\U0001F600"));   // one code point, two UTF-16 units
    }

    [Theory]
    [InlineData("\u0660.\u0665", 0.5)]       // Unicode decimal digits
    [InlineData("1_0", 10.0)]
    [InlineData(" 0.5 ", 0.5)]
    [InlineData("\u20000.5\u3000", 0.5)]     // Unicode spaces become spaces, then are stripped
    [InlineData("inf", double.PositiveInfinity)]
    [InlineData("-Infinity", double.NegativeInfinity)]
    [InlineData("5.", 5.0)]
    [InlineData(".5", 0.5)]
    [InlineData("+.5e-1", 0.05)]
    public void Float_AcceptsWhatPythonAccepts(string s, double expected)
    {
        Assert.True(PyFloat.TryParse(s, out var value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("1__0")]
    [InlineData("\u001c0.5")]                // only ASCII whitespace is stripped after the transform
    [InlineData(".e1")]
    [InlineData("0x1")]
    [InlineData("1e")]
    [InlineData("_1")]
    [InlineData("1_")]
    [InlineData("\u0661\u066b\u0665")]       // the Arabic decimal separator is not a '.'
    [InlineData("")]
    public void Float_RefusesWhatPythonRefuses(string s) => Assert.False(PyFloat.TryParse(s, out _));

    [Fact]
    public void Float_ReadsNan() => Assert.True(PyFloat.TryParse("nan", out var v) && double.IsNaN(v));

    [Theory]
    [InlineData(2.675, 2, 2.67)]             // stored as 2.67499999...
    [InlineData(0.125, 2, 0.12)]             // an exact tie: to even
    [InlineData(0.375, 2, 0.38)]
    [InlineData(7.8125, 3, 7.812)]
    [InlineData(5.666666666666667, 3, 5.667)]
    [InlineData(2.5, 0, 2.0)]
    [InlineData(0.0005, 3, 0.001)]           // stored just above the tie
    [InlineData(-0.0015, 3, -0.002)]
    [InlineData(123456789.1234565, 6, 123456789.123456)]
    public void Round_IsPythonsRound(double x, int digits, double expected) => Assert.Equal(expected, PyRound.Round(x, digits));
}
