namespace Blog.Api.Data;

/// <summary>
/// Rows written to the response as they are read, so that what one request holds in memory
/// does not grow with what is stored: 10,000 comments of 10,000 characters are 200 MB of
/// strings, 100,000 tags several MB. Used by the lists that have no page size (an article's
/// comments, the tags) and by v1's bulk list. The connection goes with the response
/// (RegisterForDisposeAsync) and closes after the last row, or when the client goes away.
/// </summary>
internal static class Streaming
{
    /// <summary>
    /// Reads the first row of <paramref name="rows"/>: null when there is none; else the rows,
    /// that one first, to be written as the response is.
    /// </summary>
    public static async Task<IAsyncEnumerable<T>?> StartAsync<T>(HttpContext http, IAsyncDisposable connection, IAsyncEnumerable<T> rows)
    {
        http.Response.RegisterForDisposeAsync(connection);
        var reader = rows.GetAsyncEnumerator(http.RequestAborted);
        if (!await reader.MoveNextAsync())
        {
            await reader.DisposeAsync();
            return null;
        }
        // The statement has run; the request's few seconds would cut a long answer to a slow reader.
        StatementDeadline.Lift(http);
        return Rest(reader);
    }

    static async IAsyncEnumerable<T> Rest<T>(IAsyncEnumerator<T> reader)
    {
        try
        {
            do yield return reader.Current;
            while (await reader.MoveNextAsync());
        }
        finally
        {
            await reader.DisposeAsync();
        }
    }
}
