using MultiLora.Serve.Engine;

namespace MultiLora.Serve.Tests;

/// <summary>The streamed pieces add up to the final reply; stop strings end it, even across pieces; unsettled text waits.</summary>
public sealed class TextStreamTests
{
    // token i decodes to Pieces[i]; a decoder that, like sentencepiece, turns an unfinished UTF-8 sequence into U+FFFD
    static readonly string[] Pieces = [" Hello", ",", " wor", "ld", "\n", "\n", "US", "ER", ":", " bye", "\uFFFD", " ", "!"];

    static string Decode(IReadOnlyList<int> ids) => string.Concat(ids.Select(i => Pieces[i]));

    static (List<string> Emitted, bool Stopped, string Text) Run(int[] tokens, params string[] stops)
    {
        var stream = new TextStream(Decode, stops);
        var emitted = new List<string>();
        foreach (var t in tokens)
        {
            var (piece, stopped) = stream.Push(t);
            if (piece.Length > 0) emitted.Add(piece);
            if (stopped) return (emitted, true, stream.Text);
        }
        var rest = stream.Finish();
        if (rest.Length > 0) emitted.Add(rest);
        return (emitted, false, stream.Text);
    }

    [Fact]
    public void Pieces_AddUpToTheTrimmedText()
    {
        var (emitted, stopped, text) = Run([0, 1, 2, 3, 4, 5, 6, 7]);
        Assert.False(stopped);
        Assert.Equal("Hello, world\n\nUSER", text);
        Assert.Equal(text, string.Concat(emitted));
        Assert.Equal("Hello", emitted[0]);   // leading space trimmed, as generate prints it
    }

    [Fact]
    public void StopString_SplitOverTokens_EndsTheReplyBeforeIt_AndNothingOfItIsSent()
    {
        var (emitted, stopped, text) = Run([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], "\nUSER:");
        Assert.True(stopped);
        Assert.Equal("Hello, world", text);
        Assert.Equal(text, string.Concat(emitted));
        Assert.DoesNotContain(emitted, p => p.Contains("US", StringComparison.Ordinal));
    }

    [Fact]
    public void TrailingWhitespaceAndUnfinishedCharacters_WaitForWhatFollows()
    {
        var stream = new TextStream(Decode, []);
        Assert.Equal("Hello", stream.Push(0).Piece);
        Assert.Equal(",", stream.Push(1).Piece);
        Assert.Equal("", stream.Push(4).Piece);        // "\n" could be trailing whitespace
        Assert.Equal("", stream.Push(10).Piece);       // U+FFFD: an unfinished character
        Assert.Equal("\n\uFFFD wor", stream.Push(2).Piece);
        Assert.Equal("", stream.Push(11).Piece);
        Assert.Equal("", stream.Finish());             // the trailing space is trimmed at the end
        Assert.Equal("Hello,\n\uFFFD wor", stream.Text);
    }

    [Fact]
    public void EarliestOfSeveralStops_Wins()
    {
        var (_, stopped, text) = Run([0, 1, 2, 3, 9, 12], "ld", ", ");
        Assert.True(stopped);
        Assert.Equal("Hello", text);
    }
}

/// <summary>Byte-fallback runs decode as a whole (sentencepiece's way): their text is held until the run ends.</summary>
public sealed class TextStreamByteRunTests
{
    // ids 0..255 are byte pieces <0xNN>; 256 is the word " ok"
    static string Decode(IReadOnlyList<int> ids)
    {
        var text = new System.Text.StringBuilder();
        var run = new List<byte>();
        void Flush()
        {
            if (run.Count == 0) return;
            try { text.Append(new System.Text.UTF8Encoding(false, true).GetString(run.ToArray())); }
            catch (System.Text.DecoderFallbackException) { text.Append('\uFFFD', run.Count); }
            run.Clear();
        }
        foreach (var id in ids)
        {
            if (id < 256) { run.Add((byte)id); continue; }
            Flush();
            text.Append(" ok");
        }
        Flush();
        return text.ToString();
    }

    [Theory]
    [InlineData(new[] { 256, 0xC3, 0xA9, 0xE2, 256 })]          // "é" then a lone E2: the whole run becomes U+FFFDs
    [InlineData(new[] { 256, 0xE2, 0x82, 0xAC, 256, 0x41 })]    // "€" completes
    [InlineData(new[] { 0xC3, 0xA9, 256, 0x80, 0x80, 0x41, 256 })]
    public void StreamedPieces_AreAlwaysPrefixesOfTheFinalText(int[] tokens)
    {
        var stream = new TextStream(Decode, [], id => id < 256);
        var sent = new System.Text.StringBuilder();
        foreach (var t in tokens)
        {
            sent.Append(stream.Push(t).Piece);
            Assert.StartsWith(sent.ToString(), Decode(tokens).Trim());
        }
        sent.Append(stream.Finish());
        Assert.Equal(Decode(tokens).Trim(), sent.ToString());
    }
}
