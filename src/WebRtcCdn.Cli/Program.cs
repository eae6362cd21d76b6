using WebRtcCdn.Cli;

return await CliApp.RunAsync(args).ConfigureAwait(false);
