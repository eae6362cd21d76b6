using WebRtcCdn.Server.Hosting;

return await ServerProgram.RunAsync(args, Console.Error).ConfigureAwait(false);
