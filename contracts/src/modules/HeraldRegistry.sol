// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {TriggerTerms} from "../HeraldTypes.sol";
import {HeraldEscrow} from "./HeraldEscrow.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @title HeraldRegistry
/// @notice Connector types, service types, keepers and triggers.
/// @dev Storage is laid out for settlement: everything `settle` touches for one receipt sits in two
/// trigger slots (one read, one read and written), so a batch costs little more than those two slots
/// per receipt. Keepers rebuild the whole trigger set from the events emitted here.
abstract contract HeraldRegistry is HeraldEscrow {
    using SafeCast for uint256;

    /// @notice A connector type or a service type, published by its developer.
    struct ModuleType {
        /// @dev Receives `fee` on each paid use.
        address payout;
        uint96 fee;
        /// @dev May update the type.
        address owner;
        /// @dev Connector types: the connector operator's fee. Service types: the cap on the runner's fee.
        uint96 extraFee;
        bytes32 manifestHash;
    }

    /// @notice A keeper: a bonded operator whose address (its hot signing key) signs receipts and earns
    /// rewards, and whose bond belongs to `owner` (a cold key), as a validator's stake belongs to its
    /// withdrawal address: whoever steals the signing key can neither withdraw the bond nor claim the
    /// rewards.
    struct Keeper {
        uint96 bond;
        /// @dev 0 when not registered; the keeper counts as active from this time on.
        uint40 activeFrom;
        /// @dev 0 while bonded; otherwise when the bond can be withdrawn. Unbonding keepers are inactive.
        uint40 unbondsAt;
        /// @dev Alone withdraws the bond and receives the rewards; may also unbond the keeper.
        address owner;
        string endpoint;
    }

    /// @dev The slot settlement writes.
    struct TriggerLedger {
        uint96 budget;
        uint32 executions;
        uint32 maxExecutions;
        /// @dev Position (top 64 bits of the event id) of the last settled event.
        uint64 lastEventKey;
    }

    /// @dev The slot settlement reads.
    struct TriggerRules {
        uint24 connectorType;
        uint24 serviceType;
        uint80 maxFeePerExecution;
        uint40 expiresAt;
        /// @dev Start of the latest pause, 0 if never paused.
        uint40 pausedAt;
        /// @dev End of the latest pause.
        uint40 resumedAt;
        /// @dev PAUSED | CANCELLED | DISPUTED.
        uint8 flags;
    }

    struct Trigger {
        TriggerLedger ledger;
        TriggerRules rules;
        address owner;
        bytes32 configHash;
    }

    /// @notice A requested move of trigger budget back to the owner's balance.
    struct BudgetWithdrawal {
        uint96 amount;
        uint40 unlocksAt;
    }

    /// @notice Largest trigger configuration `createTrigger` accepts. Every keeper parses every
    /// configuration from the creation event, so an unbounded one would let anyone stall the network.
    uint256 public constant MAX_CONFIG_BYTES = 16_384;

    uint8 internal constant PAUSED = 1;
    uint8 internal constant CANCELLED = 2;
    /// @dev Named by a proven fraud: the owner may rewind the replay cursor (`rewindEventCursor`).
    uint8 internal constant DISPUTED = 4;

    mapping(uint24 id => ModuleType) internal _connectorTypes;
    mapping(uint24 id => ModuleType) internal _serviceTypes;
    mapping(address keeper => Keeper) internal _keepers;
    mapping(uint64 id => Trigger) internal _triggers;
    mapping(uint64 id => BudgetWithdrawal) public budgetWithdrawals;
    /// @notice The X25519 public key trigger owners seal secrets to (`setTriggerSecrets`); 0 = none
    /// published.
    mapping(address keeper => bytes32) public encryptionKey;

    /// @notice Number of connector types ever registered; ids run from 1.
    uint24 public connectorTypeCount;
    /// @notice Number of service types ever registered; ids run from 1.
    uint24 public serviceTypeCount;
    /// @notice Number of triggers ever created; ids run from 1.
    uint64 public triggerCount;

    event ConnectorTypeSet(
        uint24 indexed id,
        address indexed owner,
        address payout,
        uint96 developerFee,
        uint96 operatorFee,
        bytes32 manifestHash,
        string manifestURI
    );
    event ServiceTypeSet(
        uint24 indexed id,
        address indexed owner,
        address payout,
        uint96 developerFee,
        uint96 maxRunnerFee,
        bytes32 manifestHash,
        string manifestURI
    );
    event KeeperRegistered(
        address indexed keeper, address indexed owner, uint96 bond, uint40 activeFrom, string endpoint
    );
    event KeeperBondAdded(address indexed keeper, uint96 amount, uint96 bond, uint40 activeFrom);
    event KeeperEndpointSet(address indexed keeper, string endpoint);
    event KeeperEncryptionKeySet(address indexed keeper, bytes32 key);
    event KeeperUnbondRequested(address indexed keeper, uint40 unbondsAt);
    event KeeperBondWithdrawn(address indexed keeper, address to, uint96 amount);
    event TriggerCreated(
        uint64 indexed id,
        address indexed owner,
        uint24 indexed connectorType,
        uint24 serviceType,
        uint80 maxFeePerExecution,
        uint40 expiresAt,
        uint32 maxExecutions,
        uint96 budget,
        bytes32 configHash,
        bytes config
    );
    event TriggerFunded(uint64 indexed id, address indexed from, uint96 amount, uint96 budget);
    event TriggerPaused(uint64 indexed id, uint40 at);
    event TriggerResumed(uint64 indexed id, uint40 at);
    event TriggerCancelled(uint64 indexed id, uint40 at);
    event TriggerSecretsSet(uint64 indexed id, bytes envelope);
    event BudgetWithdrawalRequested(uint64 indexed id, uint96 amount, uint40 unlocksAt);
    event BudgetWithdrawn(uint64 indexed id, address indexed owner, uint96 amount);
    event EventCursorRewound(uint64 indexed triggerId, uint64 key, uint32 executions);

    error UnknownConnectorType(uint24 id);
    error UnknownServiceType(uint24 id);
    error NotTypeOwner(address caller);
    error KeeperAlreadyRegistered(address keeper);
    error KeeperNotRegistered(address keeper);
    error ZeroEncryptionKey();
    error BondBelowMinimum(uint96 bond, uint96 minBond);
    error KeeperIsUnbonding(address keeper);
    error UnbondNotRequested(address keeper);
    error NotBondOwner(address keeper, address caller);
    error StillLocked(uint40 until);
    error UnknownTrigger(uint64 id);
    error NotTriggerOwner(uint64 id, address caller);
    error TriggerIsCancelled(uint64 id);
    error TriggerIsPaused(uint64 id);
    error TriggerNotPaused(uint64 id);
    error ExpiryInPast(uint40 expiresAt);
    error NoWithdrawalRequested(uint64 id);
    error ConfigTooLarge(uint256 size, uint256 max);
    error RewindNeedsPauseOrDispute(uint64 id);
    error CursorAhead(uint64 key, uint64 lastEventKey);
    error ExecutionsAhead(uint32 executions, uint32 counted);

    // ---------------------------------------------------------------- connector and service types

    /// @notice Publishes a connector type; the caller owns it.
    function registerConnectorType(
        address payout,
        uint96 developerFee,
        uint96 operatorFee,
        bytes32 manifestHash,
        string calldata manifestURI
    ) external returns (uint24 id) {
        id = ++connectorTypeCount;
        _setType(_connectorTypes[id], payout, developerFee, operatorFee, manifestHash);
        emit ConnectorTypeSet(id, msg.sender, payout, developerFee, operatorFee, manifestHash, manifestURI);
    }

    /// @notice Changes a connector type's payout, fees or manifest. Triggers are protected by their cap.
    function updateConnectorType(
        uint24 id,
        address payout,
        uint96 developerFee,
        uint96 operatorFee,
        bytes32 manifestHash,
        string calldata manifestURI
    ) external {
        ModuleType storage t = _connectorTypes[id];
        if (t.owner == address(0)) revert UnknownConnectorType(id);
        _setType(t, payout, developerFee, operatorFee, manifestHash);
        emit ConnectorTypeSet(id, msg.sender, payout, developerFee, operatorFee, manifestHash, manifestURI);
    }

    /// @notice Publishes a service type; the caller owns it.
    function registerServiceType(
        address payout,
        uint96 developerFee,
        uint96 maxRunnerFee,
        bytes32 manifestHash,
        string calldata manifestURI
    ) external returns (uint24 id) {
        id = ++serviceTypeCount;
        _setType(_serviceTypes[id], payout, developerFee, maxRunnerFee, manifestHash);
        emit ServiceTypeSet(id, msg.sender, payout, developerFee, maxRunnerFee, manifestHash, manifestURI);
    }

    /// @notice Changes a service type's payout, fees or manifest. Triggers are protected by their cap.
    function updateServiceType(
        uint24 id,
        address payout,
        uint96 developerFee,
        uint96 maxRunnerFee,
        bytes32 manifestHash,
        string calldata manifestURI
    ) external {
        ModuleType storage t = _serviceTypes[id];
        if (t.owner == address(0)) revert UnknownServiceType(id);
        _setType(t, payout, developerFee, maxRunnerFee, manifestHash);
        emit ServiceTypeSet(id, msg.sender, payout, developerFee, maxRunnerFee, manifestHash, manifestURI);
    }

    /// @notice A connector type; `extraFee` is the connector operator's fee.
    function connectorType(uint24 id) external view returns (ModuleType memory) {
        return _connectorTypes[id];
    }

    /// @notice A service type; `extraFee` is the cap on the runner's fee.
    function serviceType(uint24 id) external view returns (ModuleType memory) {
        return _serviceTypes[id];
    }

    /// @dev A new type has no owner yet and takes the caller; an existing one must be the caller's.
    function _setType(ModuleType storage t, address payout, uint96 fee, uint96 extraFee, bytes32 manifestHash)
        private
    {
        if (payout == address(0)) revert ZeroAddress();
        if (t.owner == address(0)) t.owner = msg.sender;
        else if (t.owner != msg.sender) revert NotTypeOwner(msg.sender);
        t.payout = payout;
        t.fee = fee;
        t.extraFee = extraFee;
        t.manifestHash = manifestHash;
    }

    // ---------------------------------------------------------------- keepers

    /// @notice Registers the caller as a keeper with a bond from its own balance; it becomes active after
    /// the activation delay. The caller's key is the keeper's hot key: it signs receipts and, from the
    /// keeper's node, stays online.
    /// @param owner The cold key the bond and rewards belong to; 0 for the caller itself (one key for
    /// all, as on a devnet).
    function registerKeeper(uint96 bond, string calldata endpoint, address owner) external nonReentrant {
        Keeper storage k = _keepers[msg.sender];
        if (k.activeFrom != 0) revert KeeperAlreadyRegistered(msg.sender);
        uint96 minBond = _params.minBond;
        if (bond < minBond || bond == 0) revert BondBelowMinimum(bond, minBond);
        uint96 received = _pull(msg.sender, bond).toUint96();
        if (received < minBond) revert BondBelowMinimum(received, minBond);
        uint40 activeFrom = uint40(block.timestamp) + uint40(_params.activationDelay);
        if (owner == address(0)) owner = msg.sender;
        k.bond = received;
        k.activeFrom = activeFrom;
        k.owner = owner;
        k.endpoint = endpoint;
        totalBond += received;
        emit KeeperRegistered(msg.sender, owner, received, activeFrom, endpoint);
    }

    /// @notice Adds to the caller's bond.
    /// @dev A keeper whose bond was below the minimum (for example slashed to zero) goes through the
    /// activation delay again, as a new keeper would: a top-up cannot make it active in the same block.
    /// `amount` in the event is what arrived.
    function addBond(uint96 amount) external nonReentrant {
        Keeper storage k = _bondedKeeper(msg.sender);
        if (amount == 0) revert ZeroAmount();
        uint96 before = k.bond;
        uint96 received = _pull(msg.sender, amount).toUint96();
        uint96 bond = before + received;
        uint40 activeFrom = k.activeFrom;
        // (minBond is at least 1, so this covers a bond of zero.)
        if (before < _params.minBond) {
            uint40 reactivation = uint40(block.timestamp) + uint40(_params.activationDelay);
            // Never earlier than a pending activation.
            if (reactivation > activeFrom) activeFrom = reactivation;
        }
        k.bond = bond;
        k.activeFrom = activeFrom;
        totalBond += received;
        emit KeeperBondAdded(msg.sender, received, bond, activeFrom);
    }

    /// @notice Sets the URL other keepers use to reach the caller.
    function setKeeperEndpoint(string calldata endpoint) external {
        if (_keepers[msg.sender].activeFrom == 0) revert KeeperNotRegistered(msg.sender);
        _keepers[msg.sender].endpoint = endpoint;
        emit KeeperEndpointSet(msg.sender, endpoint);
    }

    /// @notice Publishes the caller's X25519 public encryption key, to which trigger owners seal their
    /// secrets (HPKE). A new key replaces the previous one.
    function setEncryptionKey(bytes32 key) external {
        if (_keepers[msg.sender].activeFrom == 0) revert KeeperNotRegistered(msg.sender);
        if (key == 0) revert ZeroEncryptionKey();
        encryptionKey[msg.sender] = key;
        emit KeeperEncryptionKeySet(msg.sender, key);
    }

    /// @notice Stops `account` counting as active and starts the unbonding delay, during which the bond
    /// can still be slashed. The bond leaves `totalBond` now. The keeper or its owner may ask: an owner
    /// whose keeper's signing key was lost or stolen takes it out of the quorum without it.
    function requestUnbond(address account) external {
        Keeper storage k = _bondedKeeper(account);
        if (msg.sender != account && msg.sender != k.owner) revert NotBondOwner(account, msg.sender);
        uint40 unbondsAt = uint40(block.timestamp) + uint40(_params.unbondingDelay);
        k.unbondsAt = unbondsAt;
        totalBond -= k.bond;
        emit KeeperUnbondRequested(account, unbondsAt);
    }

    /// @notice Withdraws `account`'s bond after the unbonding delay and deregisters it. Only the bond's
    /// owner may: the keeper's own (hot) key cannot. The keeper's unclaimed rewards become the owner's.
    /// @dev `totalBond` is unchanged: the bond left it at `requestUnbond`.
    function withdrawBond(address account, address to) external nonReentrant {
        if (to == address(0)) revert ZeroAddress();
        Keeper storage k = _keepers[account];
        if (msg.sender != k.owner) revert NotBondOwner(account, msg.sender);
        uint40 unbondsAt = k.unbondsAt;
        if (unbondsAt == 0) revert UnbondNotRequested(account);
        if (block.timestamp < unbondsAt) revert StillLocked(unbondsAt);
        uint96 amount = k.bond;
        // Rewards not yet claimed go to the owner with the bond: once deregistered, the hot key could
        // otherwise claim them anywhere.
        uint256 rewards = claimable[account];
        if (rewards != 0 && msg.sender != account) {
            claimable[account] = 0;
            claimable[msg.sender] += rewards;
        }
        delete _keepers[account];
        emit KeeperBondWithdrawn(account, to, amount);
        if (amount != 0) _push(to, amount);
    }

    /// @dev A keeper's rewards go to its bond's owner only, so a stolen signing key cannot take them.
    function _checkClaim(address to) internal view override {
        address owner = _keepers[msg.sender].owner;
        if (owner != address(0) && owner != msg.sender && to != owner) {
            revert NotBondOwner(msg.sender, msg.sender);
        }
    }

    /// @notice A keeper's record.
    function keeper(address account) external view returns (Keeper memory) {
        return _keepers[account];
    }

    /// @notice Whether `account` may sign, observe and run: registered, activated, bonded, not unbonding.
    function isActiveKeeper(address account) public view returns (bool) {
        Keeper storage k = _keepers[account];
        return _isActive(k.bond, k.activeFrom, k.unbondsAt, _params.minBond);
    }

    function _isActive(uint96 bond, uint40 activeFrom, uint40 unbondsAt, uint96 minBond)
        internal
        view
        returns (bool)
    {
        return activeFrom != 0 && block.timestamp >= activeFrom && unbondsAt == 0 && bond >= minBond
            && bond != 0;
    }

    function _bondedKeeper(address account) private view returns (Keeper storage k) {
        k = _keepers[account];
        if (k.activeFrom == 0) revert KeeperNotRegistered(account);
        if (k.unbondsAt != 0) revert KeeperIsUnbonding(account);
    }

    // ---------------------------------------------------------------- triggers

    /// @notice Creates a trigger owned by the caller, giving it `budget` from the caller's balance.
    /// @param config The full trigger configuration (filters, service data), emitted so that any keeper
    /// can rebuild the trigger from chain logs alone; only its hash is stored. At most `MAX_CONFIG_BYTES`.
    function createTrigger(TriggerTerms calldata terms, uint96 budget, bytes calldata config)
        external
        returns (uint64 id)
    {
        if (_connectorTypes[terms.connectorType].owner == address(0)) {
            revert UnknownConnectorType(terms.connectorType);
        }
        if (_serviceTypes[terms.serviceType].owner == address(0)) {
            revert UnknownServiceType(terms.serviceType);
        }
        if (terms.expiresAt != 0 && terms.expiresAt <= block.timestamp) revert ExpiryInPast(terms.expiresAt);
        if (config.length > MAX_CONFIG_BYTES) revert ConfigTooLarge(config.length, MAX_CONFIG_BYTES);
        _spendBalance(msg.sender, budget);

        id = ++triggerCount;
        bytes32 configHash = keccak256(config);
        Trigger storage t = _triggers[id];
        t.ledger = TriggerLedger({
            budget: budget, executions: 0, maxExecutions: terms.maxExecutions, lastEventKey: 0
        });
        t.rules = TriggerRules({
            connectorType: terms.connectorType,
            serviceType: terms.serviceType,
            maxFeePerExecution: terms.maxFeePerExecution,
            expiresAt: terms.expiresAt,
            pausedAt: 0,
            resumedAt: 0,
            flags: 0
        });
        t.owner = msg.sender;
        t.configHash = configHash;
        emit TriggerCreated(
            id,
            msg.sender,
            terms.connectorType,
            terms.serviceType,
            terms.maxFeePerExecution,
            terms.expiresAt,
            terms.maxExecutions,
            budget,
            configHash,
            config
        );
    }

    /// @notice Moves `amount` from the caller's balance into a trigger's budget. Anyone may sponsor.
    function fundTrigger(uint64 id, uint96 amount) external {
        Trigger storage t = _existingTrigger(id);
        if (t.rules.flags & CANCELLED != 0) revert TriggerIsCancelled(id);
        if (amount == 0) revert ZeroAmount();
        _spendBalance(msg.sender, amount);
        uint96 budget = t.ledger.budget + amount;
        t.ledger.budget = budget;
        emit TriggerFunded(id, msg.sender, amount, budget);
    }

    /// @notice Asks to move `amount` of a trigger's budget back to the owner's balance once the
    /// withdrawal delay has passed. Until then the budget still pays for executions, so work done
    /// before the request is always paid. A new request replaces the previous one.
    function requestWithdrawal(uint64 id, uint96 amount) external {
        _ownedTrigger(id);
        if (amount == 0) revert ZeroAmount();
        uint40 unlocksAt = uint40(block.timestamp) + uint40(_params.withdrawalDelay);
        budgetWithdrawals[id] = BudgetWithdrawal({amount: amount, unlocksAt: unlocksAt});
        emit BudgetWithdrawalRequested(id, amount, unlocksAt);
    }

    /// @notice Completes a requested withdrawal: what is left of the requested amount moves to the owner's
    /// balance.
    function completeWithdrawal(uint64 id) external returns (uint96 amount) {
        Trigger storage t = _ownedTrigger(id);
        BudgetWithdrawal memory w = budgetWithdrawals[id];
        if (w.unlocksAt == 0) revert NoWithdrawalRequested(id);
        if (block.timestamp < w.unlocksAt) revert StillLocked(w.unlocksAt);
        uint96 budget = t.ledger.budget;
        amount = w.amount < budget ? w.amount : budget;
        delete budgetWithdrawals[id];
        t.ledger.budget = budget - amount;
        balanceOf[msg.sender] += amount;
        emit BudgetWithdrawn(id, msg.sender, amount);
    }

    /// @notice Stops paying for executions from now on, until resumed.
    function pauseTrigger(uint64 id) external {
        Trigger storage t = _ownedTrigger(id);
        uint8 flags = t.rules.flags;
        if (flags & CANCELLED != 0) revert TriggerIsCancelled(id);
        if (flags & PAUSED != 0) revert TriggerIsPaused(id);
        t.rules.flags = flags | PAUSED;
        t.rules.pausedAt = uint40(block.timestamp);
        emit TriggerPaused(id, uint40(block.timestamp));
    }

    /// @notice Pays for executions again from now on.
    function resumeTrigger(uint64 id) external {
        Trigger storage t = _ownedTrigger(id);
        uint8 flags = t.rules.flags;
        if (flags & CANCELLED != 0) revert TriggerIsCancelled(id);
        if (flags & PAUSED == 0) revert TriggerNotPaused(id);
        t.rules.flags = flags & ~PAUSED;
        t.rules.resumedAt = uint40(block.timestamp);
        emit TriggerResumed(id, uint40(block.timestamp));
    }

    /// @notice Publishes a trigger's sealed secrets (webhook signing secret, credential header values),
    /// sealed with HPKE to the keepers' `encryptionKey`s. Keepers take a trigger's latest
    /// `TriggerSecretsSet` as its secrets; a `secrets` field of the configuration is the initial one.
    /// @param envelope The sealed envelope, opaque to the contract: only emitted, never stored. At most
    /// `MAX_CONFIG_BYTES`, as every keeper reads it.
    function setTriggerSecrets(uint64 id, bytes calldata envelope) external {
        Trigger storage t = _ownedTrigger(id);
        if (t.rules.flags & CANCELLED != 0) revert TriggerIsCancelled(id);
        if (envelope.length > MAX_CONFIG_BYTES) revert ConfigTooLarge(envelope.length, MAX_CONFIG_BYTES);
        emit TriggerSecretsSet(id, envelope);
    }

    /// @notice Ends a trigger for good. Executions before now are still paid; the budget comes back
    /// through `requestWithdrawal`.
    function cancelTrigger(uint64 id) external {
        Trigger storage t = _ownedTrigger(id);
        uint8 flags = t.rules.flags;
        if (flags & CANCELLED != 0) revert TriggerIsCancelled(id);
        if (flags & PAUSED == 0) t.rules.pausedAt = uint40(block.timestamp);
        t.rules.flags = flags | PAUSED | CANCELLED;
        emit TriggerCancelled(id, uint40(block.timestamp));
    }

    /// @notice Puts a disputed or paused trigger's replay cursor back to `key` and its execution count
    /// back to `executions`, so that the genuine events a fabricated receipt jumped over can be paid and
    /// the executions fabrications used up count no more. Only backwards; clears DISPUTED.
    /// @dev Only the owner, who pays for every event, chooses how far back, and so chooses what may be
    /// paid twice: any receipt above `key` that already settled can be submitted again. `herald trigger
    /// rewind` picks the highest genuine settled position and says what a lower one reopens. A disputed
    /// trigger's fabrications cannot be replayed: their signers lost their bonds, so their signatures reach
    /// no quorum. A paused trigger can be rewound too, for a cursor pushed by a receipt no challenge can
    /// prove false (an event of another chain); whether its signers can push it again rests on the quorum.
    function rewindEventCursor(uint64 triggerId, uint64 key, uint32 executions) external {
        Trigger storage t = _ownedTrigger(triggerId);
        uint8 flags = t.rules.flags;
        if (flags & (DISPUTED | PAUSED) == 0) revert RewindNeedsPauseOrDispute(triggerId);
        uint64 last = t.ledger.lastEventKey;
        if (key > last) revert CursorAhead(key, last);
        uint32 counted = t.ledger.executions;
        if (executions > counted) revert ExecutionsAhead(executions, counted);
        t.ledger.lastEventKey = key;
        t.ledger.executions = executions;
        t.rules.flags = flags & ~DISPUTED;
        emit EventCursorRewound(triggerId, key, executions);
    }

    /// @notice A trigger's full record.
    function trigger(uint64 id) external view returns (Trigger memory) {
        return _triggers[id];
    }

    function _existingTrigger(uint64 id) private view returns (Trigger storage t) {
        t = _triggers[id];
        if (t.owner == address(0)) revert UnknownTrigger(id);
    }

    function _ownedTrigger(uint64 id) private view returns (Trigger storage t) {
        t = _existingTrigger(id);
        if (t.owner != msg.sender) revert NotTriggerOwner(id, msg.sender);
    }

    function _spendBalance(address user, uint256 amount) private {
        uint256 available = balanceOf[user];
        if (amount > available) revert InsufficientBalance(available, amount);
        balanceOf[user] = available - amount;
    }
}
