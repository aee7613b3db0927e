// The guide's JavaScript client (shared/seed/realtime-websocket-guide.txt, "Basic WebSocket
// Client"), copied unchanged between the markers, then driven by a small harness below.
// Run: node --experimental-websocket guide_client.mjs ws://127.0.0.1:8000/ws/realtime/ AAPL

// ---- the guide's client, unchanged ----
class SimpleWebSocketClient {
    constructor(url) {
        this.url = url;
        this.socket = null;
    }

    connect() {
        this.socket = new WebSocket(this.url);

        this.socket.onopen = (event) => {
            console.log('Connected to WebSocket');
            this.sendMessage('ping', {});
        };

        this.socket.onmessage = (event) => {
            const message = JSON.parse(event.data);
            this.handleMessage(message);
        };

        this.socket.onclose = (event) => {
            console.log('WebSocket connection closed');
        };
    }

    sendMessage(type, data) {
        const message = {
            type: type,
            data: data,
            timestamp: new Date().toISOString()
        };
        this.socket.send(JSON.stringify(message));
    }

    handleMessage(message) {
        switch(message.type) {
            case 'asset_update':
                this.updateAssetPrice(message.data);
                break;
            case 'portfolio_update':
                this.updatePortfolioValue(message.data);
                break;
            default:
                console.log('Received:', message);
        }
    }

    subscribeToAsset(symbol) {
        this.sendMessage('subscribe_asset', { symbol: symbol });
    }

    subscribeToPortfolio(portfolioId) {
        this.sendMessage('subscribe_portfolio', { portfolio_id: portfolioId });
    }
}
// ---- end of the guide's client ----

const [url, symbol] = process.argv.slice(2);
const seen = { connected: false, pong: false, subscribed: false, update: null };

// The guide leaves these two hooks to the application.
SimpleWebSocketClient.prototype.updateAssetPrice = function (data) {
    seen.update = data;
    finish();
};
SimpleWebSocketClient.prototype.updatePortfolioValue = function () {};

const log = console.log;
console.log = (...args) => {
    if (args[0] === "Connected to WebSocket") seen.connected = true;
    if (args[0] === "Received:" && args[1]?.type === "pong") seen.pong = true;
    if (args[0] === "Received:" && args[1]?.type === "subscribed") seen.subscribed = true;
    log(...args.map((a) => (typeof a === "object" ? JSON.stringify(a) : a)));
};

function finish() {
    if (seen.connected && seen.pong && seen.subscribed && seen.update) {
        log("RESULT " + JSON.stringify(seen));
        client.socket.close();
        process.exit(0);
    }
}

const client = new SimpleWebSocketClient(url);
client.connect();
// The guide's usage subscribes right after connect(); a WebSocket only sends once open.
client.socket.addEventListener("open", () => client.subscribeToAsset(symbol));
setTimeout(() => {
    log("TIMEOUT " + JSON.stringify(seen));
    process.exit(1);
}, 20000);
