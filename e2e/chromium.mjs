// launchChromium starts Debian's headless Chromium (CHROMIUM, default
// /usr/bin/chromium) through playwright-core, as the browser tests use it.
import { chromium } from "playwright-core";

export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    timeout: 30_000,
    // launch() gives every run a fresh temporary user-data dir.
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}
