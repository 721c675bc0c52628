// PM2 runs the Flint primary as ONE fork-mode process: the primary forks and supervises its own workers, so PM2's
// cluster mode (which would start several primaries) must not be used.
//   pm2 start ecosystem.config.cjs        start
//   pm2 sendSignal SIGHUP flint           reload the config without dropping connections (same as `npm run reload`)
//   pm2 stop flint                        graceful stop: SIGTERM, in-flight responses drain (<ShutdownTimeout>)
module.exports = {
  apps: [
    {
      name: 'flint',
      script: 'dist/src/main.js',
      args: 'start --conf conf',
      exec_mode: 'fork',
      instances: 1,
      autorestart: true,
      // SIGTERM drains for <ShutdownTimeout> (30 s by default) before workers are killed; give it that and a margin.
      kill_timeout: 35000,
      max_restarts: 10,
      env: { NODE_ENV: 'production' },
    },
  ],
};
